import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type NetworkEvent, NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { createRandom } from "../random.js";

const processes = [
  {
    path: "C:\\Windows\\System32\\svchost.exe",
    parent: "services.exe",
    user: "SYSTEM",
    port: 53,
    proto: "UDP",
    dest: "dns.google",
    ip: "8.8.8.8",
    sent: 64,
    recv: 128,
  },
  {
    path: "C:\\Program Files\\Firefox\\firefox.exe",
    parent: "explorer.exe",
    user: "User",
    port: 443,
    proto: "TCP",
    dest: "mozilla.org",
    ip: "44.235.246.155",
    sent: 800,
    recv: 20_000,
  },
  {
    path: "C:\\Program Files\\Chrome\\chrome.exe",
    parent: "explorer.exe",
    user: "User",
    port: 443,
    proto: "TCP",
    dest: "google.com",
    ip: "142.250.185.46",
    sent: 1000,
    recv: 40_000,
  },
  {
    path: "C:\\Program Files\\Microsoft Office\\outlook.exe",
    parent: "explorer.exe",
    user: "User",
    port: 443,
    proto: "TCP",
    dest: "outlook.office365.com",
    ip: "52.96.1.2",
    sent: 3000,
    recv: 9000,
  },
] as const;

/**
 * A small, seeded set of ordinary workstation events for unit tests: four
 * processes with their usual destinations and log-normal byte counts.
 */
export function normalEvents(n: number, seed = 7): NetworkEvent[] {
  const random = createRandom(seed);
  const events: NetworkEvent[] = [];
  for (let i = 0; i < n; i++) {
    const p = processes[random.int(processes.length)] ?? processes[0];
    const jitter = () => Math.exp((random.next() - 0.5) * 0.8);
    events.push(
      create(NetworkEventSchema, {
        timestamp: timestampFromMs(Date.UTC(2024, 11, 6, 8 + random.int(10), random.int(60))),
        processPath: p.path,
        processHash: "a1b2c3d4e5f6",
        sourceIp: `192.168.1.${100 + random.int(5)}`,
        destIp: p.ip,
        destDomain: p.dest,
        destPort: p.port,
        bytesSent: BigInt(Math.round(p.sent * jitter())),
        bytesRecv: BigInt(Math.round(p.recv * jitter())),
        protocol: p.proto,
        dnsQuery: p.port === 53 ? p.dest : "",
        parentProcess: p.parent,
        userContext: p.user,
      }),
    );
  }
  return events;
}

/** An exfiltration-like event: an unknown binary uploading 2 GB to a raw IP. */
export function exfiltrationEvent(): NetworkEvent {
  return create(NetworkEventSchema, {
    timestamp: timestampFromMs(Date.UTC(2024, 11, 7, 3, 12)),
    processPath: "C:\\Users\\bob\\AppData\\Local\\Temp\\upd.exe",
    processHash: "ffffffffffff",
    sourceIp: "192.168.1.101",
    destIp: "185.220.101.4",
    destPort: 8443,
    bytesSent: 2_000_000_000n,
    bytesRecv: 1_000n,
    protocol: "TCP",
    parentProcess: "cmd.exe",
    userContext: "User",
  });
}
