/**
 * A peer host for the host-collector bench: a network namespace joined to
 * this one by a veth pair, running the load's TCP server (`host-load.mjs
 * --serve`). Connections to it are one socket each on this side, as a real
 * host's connections to other machines are (a loopback connection is two:
 * the client's and the server's). Linux and root only; removed on close.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The running peer. */
export interface NetnsPeer {
  /** `10.231.N.2:PORT`, where the load connects. */
  target: string;
  close(): Promise<void>;
}

/** Creates the namespace, the veth pair (10.231.N.1 here, .2 there) and the server. */
export async function startNetnsPeer(): Promise<NetnsPeer> {
  const tag = `nab${process.pid % 100_000}`;
  const ns = `${tag}-peer`;
  const net = `10.231.${process.pid % 250}`;
  const ip = (...args: string[]) => run("ip", args);
  let server: ChildProcess | undefined;
  const close = async () => {
    server?.stdin?.end();
    server?.kill();
    await ip("link", "del", `${tag}a`).catch(() => undefined);
    await ip("netns", "del", ns).catch(() => undefined);
  };
  try {
    await ip("netns", "add", ns);
    await ip("link", "add", `${tag}a`, "type", "veth", "peer", "name", `${tag}b`);
    await ip("link", "set", `${tag}b`, "netns", ns);
    await ip("addr", "add", `${net}.1/30`, "dev", `${tag}a`);
    await ip("link", "set", `${tag}a`, "up");
    await ip("-n", ns, "addr", "add", `${net}.2/30`, "dev", `${tag}b`);
    await ip("-n", ns, "link", "set", `${tag}b`, "up");
    await ip("-n", ns, "link", "set", "lo", "up");
    const script = new URL("./host-load.mjs", import.meta.url).pathname;
    const child = spawn(
      "ip",
      ["netns", "exec", ns, process.execPath, script, "--serve", `${net}.2`],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    server = child;
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(
        () => reject(new Error("the peer's server did not listen in 10 s")),
        10_000,
      );
      child.stdout?.on("data", (d) => {
        out += d;
        if (!out.includes("\n")) return;
        clearTimeout(timer);
        resolve((JSON.parse(out.split("\n")[0] as string) as { port: number }).port);
      });
      child.on("exit", (code) => reject(new Error(`the peer's server exited with ${code}`)));
    });
    return { target: `${net}.2:${port}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}
