import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The host collector run as user nobody (no capabilities), as a normal user
 * would: it sees every socket, attributes its own user's processes, leaves
 * root's processes unattributed but names their user from the socket's uid,
 * and says once what it cannot do (attribution, the capture). The root
 * side (a Node peer, curl as root and as nobody) is started by this test.
 */

const inCI = process.env.CI === "true";
const has = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
};
const canRun =
  process.platform === "linux" &&
  process.getuid?.() === 0 &&
  ["ss", "curl", "setpriv", "stdbuf", "tcpdump"].every(has);
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AS_NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

type Line = {
  poll?: number;
  notice?: string;
  event?: Record<string, string | number>;
  stats?: unknown;
};

function message(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message in 15 s`)), 15_000);
    child.on("message", function on(m: Record<string, unknown>) {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off("message", on);
      resolve(m);
    });
  });
}

describe.skipIf(!canRun && !inCI)("createHostCollector() as user nobody", () => {
  const lines: Line[] = [];
  const children: ChildProcess[] = [];
  let collector: ChildProcess;
  let polls = 0;

  const waitFor = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    collector = spawn(
      "setpriv",
      [...AS_NOBODY, process.execPath, "--import", "tsx", here("./testdata/collect.mts"), "0.2"],
      { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, HOME: "/tmp" } },
    );
    children.push(collector);
    createInterface({ input: collector.stdout as NodeJS.ReadableStream }).on("line", (text) => {
      const line = JSON.parse(text) as Line;
      if (line.poll !== undefined) polls = line.poll;
      lines.push(line);
    });
    await waitFor("the collector's first poll", () => polls >= 1);
  });

  afterAll(async () => {
    // Closing stdin stops the collector, which stops its ss and tcpdump children.
    const exited = new Promise((r) => collector.once("exit", r));
    collector.stdin?.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    for (const child of children) child.kill();
  });

  /** curl as `user` fetches from a root Node peer, held open for two polls. */
  async function fetchAs(asNobody: boolean): Promise<number> {
    const peer = fork(here("./testdata/loopback-peer.mjs"), ["127.0.0.1", "50000"], {
      stdio: "ignore",
    });
    children.push(peer);
    const { tcpPort } = await message(peer, "listening");
    const argv = ["-s", "-o", "/dev/null", `http://127.0.0.1:${tcpPort}/`];
    const curl = asNobody ? spawn("setpriv", [...AS_NOBODY, "curl", ...argv]) : spawn("curl", argv);
    await message(peer, "accepted");
    const from = polls;
    await waitFor("two polls", () => polls >= from + 2);
    peer.send("finish");
    await new Promise((r) => curl.once("exit", r));
    await waitFor("both ends' events", () => eventsTo(tcpPort as number).length === 2);
    return tcpPort as number;
  }

  const eventsTo = (port: number) =>
    lines.flatMap((l) => (l.event && l.event.destPort === port ? [l.event] : []));

  it("attributes its own user's process, and names root's by the socket's uid only", async () => {
    const curlPath = realpathSync(
      execFileSync("sh", ["-c", "command -v curl"], { encoding: "utf8" }).trim(),
    );
    const mine = eventsTo(await fetchAs(true));
    const nobodyCurl = mine.find((e) => e.processPath === curlPath);
    expect(nobodyCurl).toMatchObject({ userContext: "nobody" });
    // The peer is root's: no path, hash or parent, but its user from the socket.
    expect(mine.find((e) => e !== nobodyCurl)).toMatchObject({ userContext: "root" });
    expect(mine.find((e) => e !== nobodyCurl)?.processPath).toBeUndefined();
    const roots = eventsTo(await fetchAs(false));
    expect(roots.map((e) => [e.processPath, e.processHash, e.userContext])).toEqual([
      [undefined, undefined, "root"],
      [undefined, undefined, "root"],
    ]);
  });

  it("says once that it lacks the capabilities to attribute and to capture", () => {
    const notices = lines.flatMap((l) => (l.notice ? [l.notice] : []));
    expect(
      notices.filter((n) => n.includes("CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH")),
    ).toHaveLength(1);
    expect(notices.filter((n) => n.includes("CAP_NET_RAW"))).toHaveLength(2);
    expect(notices.find((n) => n.startsWith("host: dns watch:"))).toMatch(
      /dest_domain, dns_query and UDP byte counts stay empty/,
    );
  });
});
