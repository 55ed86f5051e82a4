import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createDetector, type Detector, trainModel } from "../../detector/index.js";
import { type NetworkEvent, NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";

/** Fields of a hand-built event; bytes as numbers for brevity. */
export interface EventFields {
  timeMs?: number;
  processPath?: string;
  processHash?: string;
  sourceIp?: string;
  destIp?: string;
  destDomain?: string;
  destPort?: number;
  bytesSent?: number;
  bytesRecv?: number;
  protocol?: string;
  dnsQuery?: string;
  parentProcess?: string;
  userContext?: string;
}

/** Builds a `NetworkEvent` from plain fields. */
export function makeEvent(f: EventFields): NetworkEvent {
  return create(NetworkEventSchema, {
    timestamp: f.timeMs === undefined ? undefined : timestampFromMs(f.timeMs),
    processPath: f.processPath ?? "",
    processHash: f.processHash ?? "",
    sourceIp: f.sourceIp ?? "",
    destIp: f.destIp ?? "",
    destDomain: f.destDomain ?? "",
    destPort: f.destPort ?? 0,
    bytesSent: BigInt(f.bytesSent ?? 0),
    bytesRecv: BigInt(f.bytesRecv ?? 0),
    protocol: f.protocol ?? "",
    dnsQuery: f.dnsQuery ?? "",
    parentProcess: f.parentProcess ?? "",
    userContext: f.userContext ?? "",
  });
}

const START_MS = Date.UTC(2024, 11, 2, 8); // Monday 08:00 UTC

/** A deterministic generator (LCG, Numerical Recipes constants) so fixtures never change. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const ROUTINE = [
  {
    processPath: "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    parentProcess: "explorer.exe",
    userContext: "User",
    protocol: "TCP",
    destPort: 443,
    domains: ["www.google.com", "github.com", "mail.example.com", "news.example.org"],
    sent: 2_000,
    recv: 60_000,
  },
  {
    processPath: "C:\\Windows\\System32\\svchost.exe",
    parentProcess: "services.exe",
    userContext: "SYSTEM",
    protocol: "UDP",
    destPort: 53,
    domains: ["dns.google"],
    sent: 80,
    recv: 200,
  },
  {
    processPath: "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    parentProcess: "explorer.exe",
    userContext: "User",
    protocol: "TCP",
    destPort: 443,
    domains: ["outlook.office365.com"],
    sent: 5_000,
    recv: 20_000,
  },
] as const;

/**
 * `count` routine office events (browser, DNS, mail) during working hours,
 * with byte counts spread ±50 % around a baseline. Deterministic.
 */
export function routineEvents(count: number, seed = 1): NetworkEvent[] {
  const rand = lcg(seed);
  const events: NetworkEvent[] = [];
  for (let i = 0; i < count; i++) {
    const kind = ROUTINE[i % ROUTINE.length] as (typeof ROUTINE)[number];
    const domain = kind.domains[Math.floor(rand() * kind.domains.length)] as string;
    events.push(
      makeEvent({
        timeMs: START_MS + i * 20_000,
        processPath: kind.processPath,
        processHash: `hash-${kind.parentProcess}-${kind.destPort}`,
        sourceIp: "10.0.0.12",
        destIp: `142.250.${Math.floor(rand() * 4)}.${10 + Math.floor(rand() * 4)}`,
        destDomain: domain,
        destPort: kind.destPort,
        bytesSent: Math.round(kind.sent * (0.5 + rand())),
        bytesRecv: Math.round(kind.recv * (0.5 + rand())),
        protocol: kind.protocol,
        dnsQuery: kind.destPort === 53 ? "www.google.com" : "",
        parentProcess: kind.parentProcess,
        userContext: kind.userContext,
      }),
    );
  }
  return events;
}

/** One routine event (a browser HTTPS connection), as it appears in training. */
export function normalEvent(): NetworkEvent {
  return routineEvents(1)[0] as NetworkEvent;
}

/** An exfiltration-like event: an unseen tool sending 900 MB to an odd port at 03:00. */
export function anomalousEvent(): NetworkEvent {
  return makeEvent({
    timeMs: Date.UTC(2024, 11, 4, 3, 12),
    processPath: "C:\\Users\\Public\\svch0st.exe",
    processHash: "deadbeef",
    sourceIp: "10.0.0.12",
    destIp: "203.0.113.77",
    destDomain: "x7q9z.example.net",
    destPort: 4444,
    bytesSent: 900_000_000,
    bytesRecv: 12,
    protocol: "TCP",
    parentProcess: "cmd.exe",
    userContext: "SYSTEM",
  });
}

let cached: Detector | undefined;

/**
 * A small real detector trained in-process on 600 routine events (50 trees,
 * 128 samples, seed 7, contamination 0.01). Built once per test file.
 */
export function testDetector(): Detector {
  cached ??= createDetector(
    trainModel(routineEvents(600), {
      nEstimators: 50,
      maxSamples: 128,
      seed: 7,
      contamination: 0.01,
    }),
  );
  return cached;
}
