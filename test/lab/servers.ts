import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabNetwork } from "./netns.js";
import { run, sleep, start } from "./proc.js";

/** The lab zone the resolver answers every name under (with the servers host's address). */
export const LAB_ZONE = "corp.lab";
/** The zone the DNS tunnel's queries go to; answered too, as a tunnel's server would. */
export const TUNNEL_ZONE = "sync.cdn-metrics.net";
/** Ports the servers host listens on. */
export const PORTS = {
  http: 80,
  intranet: 8080,
  upload: 4444,
  beacon: 8443,
  ssh: 22,
  dns: 53,
  ntp: 123,
} as const;
/** Size of the file `scp` and `rsync` fetch, bytes. */
export const SSH_FILE_BYTES = 1_500_000;

/** Paths the office programs use. */
export interface LabFiles {
  dir: string;
  /** Client key for ssh/scp/rsync (key-only auth). */
  clientKey: string;
  /** File on the servers host that scp and rsync fetch. */
  sshFile: string;
  /** Where downloads land in the office. */
  officeDir: string;
}

const root = join(import.meta.dirname, "..", "..");

/**
 * Starts the servers host's services inside its namespace: sshd (generated
 * host key, key-only auth for a generated client key), dnsmasq
 * (authoritative for `corp.lab` and the tunnel zone, nothing upstream), and
 * the Node web/upload/NTP-like server of `serve.ts`. Returns once each one
 * answers from the office host. The processes end with the namespace.
 */
export async function startServers(net: LabNetwork, dir: string): Promise<LabFiles> {
  const sshDir = join(dir, "ssh");
  const officeDir = join(dir, "office");
  const srvDir = join(dir, "srv");
  for (const d of [sshDir, officeDir, srvDir]) mkdirSync(d, { recursive: true });
  const hostKey = join(sshDir, "host_ed25519");
  const clientKey = join(sshDir, "client_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey]);
  const { stdout: pub } = await run("cat", [`${clientKey}.pub`]);
  const authorized = join(sshDir, "authorized_keys");
  writeFileSync(authorized, pub);
  chmodSync(authorized, 0o600);
  const config = join(sshDir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress ${net.servers.ip}`,
      `Port ${PORTS.ssh}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      "PidFile none",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  const sshFile = join(srvDir, "data.bin");
  writeFileSync(sshFile, Buffer.alloc(SSH_FILE_BYTES, "office data "));
  // sshd wants its privilege-separation directory to exist.
  mkdirSync("/run/sshd", { recursive: true });
  const ns = net.servers.ns;
  const sshd = start("/usr/sbin/sshd", ["-D", "-e", "-f", config], { ns });
  const dns = start(
    "dnsmasq",
    [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--pid-file=",
      "--user=root",
      `--listen-address=${net.servers.ip}`,
      "--bind-interfaces",
      `--address=/${LAB_ZONE}/${net.servers.ip}`,
      `--address=/${TUNNEL_ZONE}/${net.servers.ip}`,
      "--cache-size=0",
    ],
    { ns },
  );
  const web = start(
    process.execPath,
    [
      "--import",
      "tsx",
      join(root, "test/lab/serve.ts"),
      "--host",
      net.servers.ip,
      "--http",
      String(PORTS.http),
      "--http",
      String(PORTS.intranet),
      "--http",
      String(PORTS.upload),
      "--http",
      String(PORTS.beacon),
      "--udp",
      String(PORTS.ntp),
    ],
    { ns },
  );
  const office = net.office.ns;
  const ready = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      for (const [name, child] of [
        ["sshd", sshd],
        ["dnsmasq", dns],
        ["serve.ts", web],
      ] as const) {
        if (child.exitCode !== null)
          throw new Error(`${name} exited (${child.exitCode}): ${child.stderrTail().slice(-400)}`);
      }
      if (await probe()) return;
      await sleep(100);
    }
    throw new Error(`${what} on ${net.servers.ip} did not answer within 10 s`);
  };
  const tcpOpen = async (port: number) =>
    (await run("nc", ["-z", "-w", "1", net.servers.ip, String(port)], { ns: office, check: false }))
      .code === 0;
  await ready("sshd", () => tcpOpen(PORTS.ssh));
  await ready("web server", () => tcpOpen(PORTS.http));
  await ready("intranet server", () => tcpOpen(PORTS.intranet));
  await ready("upload server", () => tcpOpen(PORTS.upload));
  await ready("dnsmasq", async () => {
    const r = await run("dig", [`@${net.servers.ip}`, "+short", "+time=1", `ready.${LAB_ZONE}`], {
      ns: office,
      check: false,
    });
    return r.stdout.trim() === net.servers.ip;
  });
  return { dir, clientKey, sshFile, officeDir };
}

/** ssh options for the lab's client: the generated key, no host-key prompts. */
export function sshOptions(files: LabFiles): string[] {
  return [
    "-i",
    files.clientKey,
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
  ];
}
