import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  LOTL_EPISODE_LENGTH,
  LOTL_SCENARIOS,
  LOTL_STARTERS,
  type LotlScenarioName,
} from "./scenarios-lotl.js";
import { simEvent } from "./sim-event.js";
import { INTERNAL_TARGETS, SIM_HOSTS, type SimHost } from "./sim-network.js";
import { type SimRandom, stableHash12 } from "./sim-random.js";

/** The attack scenarios the simulator injects by default, by label. */
export const SCENARIOS = [
  "exfiltration",
  "port_scan",
  "dns_tunnel",
  "c2_beacon",
  "crypto_mining",
  "lateral_movement",
  "unusual_protocol",
] as const;

/** Every scenario the simulator can inject: the default ones and those living off the land. */
export const ALL_SCENARIOS = [...SCENARIOS, ...LOTL_SCENARIOS] as const;

/** One attack scenario's label. */
export type ScenarioName = (typeof SCENARIOS)[number] | LotlScenarioName;

/**
 * One run of an attack: a few to a hundred connections sharing a victim
 * host, a tool and a target, each randomised when the episode starts so no
 * two episodes look alike.
 */
export interface AttackEpisode {
  readonly scenario: ScenarioName;
  /** Connections still to come. */
  remaining: number;
  /** The next connection of the episode, observed at `timeMs`. */
  emit(rng: SimRandom, timeMs: number): NetworkEvent;
}

/** Mean number of connections per episode, used to balance scenario shares. */
export const MEAN_EPISODE_LENGTH: Readonly<Record<ScenarioName, number>> = {
  exfiltration: 6,
  port_scan: 60,
  dns_tunnel: 40,
  c2_beacon: 25,
  crypto_mining: 12,
  lateral_movement: 10,
  unusual_protocol: 10,
  ...LOTL_EPISODE_LENGTH,
};

/** Tells whether a string names a known scenario. */
export function isScenarioName(name: string): name is ScenarioName {
  return (ALL_SCENARIOS as readonly string[]).includes(name);
}

const workstations = SIM_HOSTS.filter((h) => h.role !== "server");

/**
 * Starts a new episode of `scenario` on a random workstation.
 *
 * @param rng the simulator's generator; the episode draws its parameters now
 *   and its per-connection noise on each `emit`.
 */
export function startEpisode(scenario: ScenarioName, rng: SimRandom): AttackEpisode {
  const victim = rng.pick(workstations);
  const length = Math.max(1, Math.round(rng.range(0.4, 1.6) * MEAN_EPISODE_LENGTH[scenario]));
  const emit = isLotl(scenario) ? LOTL_STARTERS[scenario](rng) : STARTERS[scenario](rng, victim);
  return { scenario, remaining: length, emit };
}

type Emitter = (rng: SimRandom, timeMs: number) => NetworkEvent;
type Starter = (rng: SimRandom, victim: SimHost) => Emitter;

const USERS_DIR = (victim: SimHost) =>
  `C:\\Users\\${victim.user === "User" ? "jdoe" : victim.user.toLowerCase()}`;

/** A path in one of the places malware drops binaries, with a random name. */
function droppedPath(rng: SimRandom, victim: SimHost, names: readonly string[]): string {
  const home = USERS_DIR(victim);
  const dir = rng.pick([
    `${home}\\AppData\\Local\\Temp`,
    `${home}\\AppData\\Roaming\\${rng.pick(["Microsoft", "Adobe", "Intel", "Google"])}`,
    `${home}\\AppData\\Local\\${rng.hex(8)}`,
    `${home}\\Downloads`,
    "C:\\ProgramData",
    `C:\\ProgramData\\${rng.pick(["Updater", "Microsoft\\Crypto", "Package Cache"])}`,
    "C:\\Users\\Public",
    "C:\\Windows\\Temp",
  ]);
  const name = rng.chance(0.5) ? rng.pick(names) : `${rng.hex(rng.int(6, 10))}.exe`;
  return `${dir}\\${name}`;
}

/**
 * The image hash of a binary: a system or installed binary keeps its known
 * hash, a dropped one gets a hash never seen before.
 */
function binaryHash(rng: SimRandom, path: string): string {
  return /^C:\\(Windows\\System32|Program Files)/.test(path) ? stableHash12(path) : rng.hex(12);
}

/** A random public address outside the office's usual cloud prefixes. */
function rareIp(rng: SimRandom): string {
  const first = rng.pick([
    5, 31, 45, 46, 62, 77, 80, 89, 91, 93, 103, 109, 146, 176, 178, 185, 193, 194, 195, 213, 217,
  ]);
  return `${first}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** A random-looking domain such as a domain generation algorithm makes. */
function dgaDomain(rng: SimRandom): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let label = "";
  const n = rng.int(8, 18);
  for (let i = 0; i < n; i++) label += letters[rng.int(0, 25)];
  return `${label}.${rng.pick(["xyz", "top", "info", "biz", "ru", "cc", "club", "online", "site"])}`;
}

const POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
const CMD = "C:\\Windows\\System32\\cmd.exe";

const exfiltration: Starter = (rng, victim) => {
  const known = rng.chance(0.35);
  const path = known
    ? rng.pick([
        POWERSHELL,
        "C:\\Windows\\System32\\curl.exe",
        "C:\\Program Files\\Chrome\\chrome.exe",
        "C:\\Program Files\\OneDrive\\onedrive.exe",
        "C:\\Windows\\System32\\ftp.exe",
      ])
    : droppedPath(rng, victim, ["rclone.exe", "7z.exe", "megasync.exe", "winscp.exe", "sync.exe"]);
  const hash = binaryHash(rng, path);
  const [domain, port] = rng.pick<[string, number]>([
    ["mega.nz", 443],
    ["transfer.sh", 443],
    ["file.io", 443],
    ["anonfiles.com", 443],
    ["pastebin.com", 443],
    ["", rng.pick([443, 8443, 21, 22, 80, 8080])],
    [dgaDomain(rng), rng.pick([443, 8443, 80])],
  ]);
  const ip = rareIp(rng);
  const size = rng.logUniform(20e6, 4e9);
  const parent = rng.pick(["explorer.exe", "cmd.exe", "powershell.exe", "services.exe"]);
  const userName = rng.chance(0.7) ? victim.user : "SYSTEM";
  return (r, timeMs) =>
    simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: ip,
      destDomain: domain,
      destPort: port,
      bytesSent: r.logNormal(size, 0.5),
      bytesRecv: r.logNormal(4_000, 1),
      protocol: "TCP",
      dnsQuery: domain !== "" && r.chance(0.6) ? domain : "",
      parentProcess: parent,
      userContext: userName,
    });
};

const SCAN_PORTS = [
  21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 389, 443, 445, 1433, 1521, 3306, 3389, 5432, 5900,
  5985, 6379, 8080, 8443, 9200, 27017,
];

const portScan: Starter = (rng, victim) => {
  const path = rng.chance(0.5)
    ? droppedPath(rng, victim, ["nmap.exe", "masscan.exe", "advanced_port_scanner.exe", "scan.exe"])
    : rng.pick([POWERSHELL, "C:\\Program Files (x86)\\Nmap\\nmap.exe", CMD]);
  const hash = binaryHash(rng, path);
  const target = rng.chance(0.7) ? rng.pick(INTERNAL_TARGETS) : `192.168.1.${rng.int(2, 254)}`;
  const sequential = rng.chance(0.5);
  let port = rng.int(1, 1000);
  const udp = rng.chance(0.15);
  const parent = rng.pick(["cmd.exe", "powershell.exe", "explorer.exe"]);
  return (r, timeMs) => {
    port = sequential ? port + 1 : r.chance(0.5) ? r.pick(SCAN_PORTS) : r.int(1, 65535);
    const open = r.chance(0.1);
    return simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: target,
      destDomain: "",
      destPort: port,
      bytesSent: r.int(0, 60),
      bytesRecv: open ? r.int(40, 300) : r.int(0, 40),
      protocol: udp ? "UDP" : "TCP",
      dnsQuery: "",
      parentProcess: parent,
      userContext: victim.user,
    });
  };
};

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const HEXCHARS = "0123456789abcdef";

const dnsTunnel: Starter = (rng, victim) => {
  const path = rng.pick([
    "C:\\Windows\\System32\\nslookup.exe",
    "C:\\Windows\\System32\\svchost.exe",
    POWERSHELL,
    droppedPath(rng, victim, ["dnscat2.exe", "iodine.exe", "dns2tcp.exe"]),
  ]);
  const hash = binaryHash(rng, path);
  const zone = `${dgaDomain(rng).split(".")[0]}.${rng.pick(["com", "net", "xyz", "io", "top"])}`;
  const alphabet = rng.chance(0.5) ? B32 : HEXCHARS;
  const resolver = rng.pick<[string, string]>([
    ["8.8.8.8", "dns.google"],
    ["1.1.1.1", "cloudflare-dns.com"],
    ["192.168.1.1", "router.local"],
    [rareIp(rng), ""],
  ]);
  const overTcp = rng.chance(0.2);
  const parent = rng.pick(["services.exe", "cmd.exe", "powershell.exe", "explorer.exe"]);
  return (r, timeMs) => {
    const labels = r.int(2, 5);
    let q = "";
    for (let i = 0; i < labels; i++) {
      const len = r.int(24, 63);
      for (let j = 0; j < len; j++) q += alphabet[Math.floor(r.next() * alphabet.length)];
      q += ".";
    }
    q += zone;
    return simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: resolver[0],
      destDomain: resolver[1],
      destPort: 53,
      bytesSent: q.length + r.int(30, 60),
      bytesRecv: r.int(80, 700),
      protocol: overTcp ? "TCP" : "UDP",
      dnsQuery: q,
      parentProcess: parent,
      userContext: r.chance(0.5) ? victim.user : "SYSTEM",
    });
  };
};

const c2Beacon: Starter = (rng, victim) => {
  const path = droppedPath(rng, victim, [
    "update.exe",
    "svchost.exe",
    "OneDriveUpdater.exe",
    "chrome_helper.exe",
    "rundll32.exe",
    "msedge_proxy.exe",
  ]);
  const hash = binaryHash(rng, path);
  const useDomain = rng.chance(0.6);
  const domain = useDomain ? dgaDomain(rng) : "";
  const ip = rareIp(rng);
  const port = rng.pick([443, 443, 80, 8080, 8443, 4444, 1337, 8888, rng.int(20000, 60000)]);
  const sent = rng.range(150, 900);
  const recv = rng.range(60, 1500);
  const parent = rng.pick([
    "explorer.exe",
    "winword.exe",
    "excel.exe",
    "outlook.exe",
    "rundll32.exe",
    "cmd.exe",
  ]);
  const userName = rng.chance(0.8) ? victim.user : "SYSTEM";
  return (r, timeMs) =>
    simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: ip,
      destDomain: domain,
      destPort: port,
      // Beacons are regular: a few percent of jitter around a fixed size.
      bytesSent: sent * r.range(0.97, 1.03),
      bytesRecv: r.chance(0.1) ? r.logUniform(5_000, 500_000) : recv * r.range(0.95, 1.05),
      protocol: "TCP",
      dnsQuery: useDomain && r.chance(0.3) ? domain : "",
      parentProcess: parent,
      userContext: userName,
    });
};

const POOLS = [
  "pool.minexmr.com",
  "xmr.pool.minergate.com",
  "pool.supportxmr.com",
  "xmr-eu1.nanopool.org",
  "gulf.moneroocean.stream",
  "eth.2miners.com",
  "stratum.f2pool.com",
  "us-east.stratum.slushpool.com",
  "rx.unmineable.com",
  "xmr.2miners.com",
];

const cryptoMining: Starter = (rng, victim) => {
  const path = rng.chance(0.6)
    ? droppedPath(rng, victim, [
        "xmrig.exe",
        "svchost.exe",
        "nheqminer.exe",
        "msupdate.exe",
        "WmiPrvSE.exe",
      ])
    : rng.pick([
        "C:\\Users\\Public\\svchost.exe",
        "C:\\Windows\\Temp\\conhost.exe",
        "C:\\ProgramData\\Microsoft\\msupdate.exe",
      ]);
  const hash = binaryHash(rng, path);
  const pool = rng.pick(POOLS);
  const ip = rng.chance(0.5)
    ? rareIp(rng)
    : `${rng.pick([51, 94, 141, 149])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  const port = rng.pick([3333, 4444, 5555, 7777, 14444, 14433, 45700, 3357, 9999, 443]);
  const scale = rng.logUniform(50_000, 5_000_000);
  const parent = rng.pick(["services.exe", "explorer.exe", "taskeng.exe", "svchost.exe"]);
  const userName = rng.chance(0.5) ? "SYSTEM" : victim.user;
  const withName = rng.chance(0.7);
  return (r, timeMs) =>
    simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: ip,
      destDomain: withName ? pool : "",
      destPort: port,
      bytesSent: r.logNormal(scale * 0.6, 0.3),
      bytesRecv: r.logNormal(scale, 0.3),
      protocol: "TCP",
      dnsQuery: withName && r.chance(0.3) ? pool : "",
      parentProcess: parent,
      userContext: userName,
    });
};

const lateralMovement: Starter = (rng, victim) => {
  const [path, parent] = rng.pick<[string, string]>([
    [POWERSHELL, rng.pick(["cmd.exe", "explorer.exe", "wmiprvse.exe"])],
    [`${USERS_DIR(victim)}\\Downloads\\PsExec64.exe`, "cmd.exe"],
    ["C:\\Windows\\PSEXESVC.exe", "services.exe"],
    ["C:\\Windows\\System32\\wbem\\WMIC.exe", rng.pick(["cmd.exe", "powershell.exe"])],
    [CMD, "powershell.exe"],
    ["C:\\Windows\\System32\\winrs.exe", "cmd.exe"],
    [
      droppedPath(rng, victim, ["mimikatz.exe", "impacket.exe", "smbexec.exe", "crackmapexec.exe"]),
      "cmd.exe",
    ],
  ]);
  const hash = binaryHash(rng, path);
  const ports = rng.pick([
    [445],
    [3389],
    [5985],
    [5986],
    [445, 135],
    [445, 5985],
    [135, 445, 3389],
  ]);
  const targets = Array.from({ length: rng.int(1, 6) }, () => rng.pick(INTERNAL_TARGETS)).filter(
    (t) => t !== victim.ip,
  );
  if (targets.length === 0) targets.push("10.0.0.40");
  const userName = rng.pick([victim.user, "SYSTEM", "Administrator", "CORP\\svc_backup"]);
  return (r, timeMs) =>
    simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: r.pick(targets),
      destDomain: "",
      destPort: r.pick(ports),
      bytesSent: r.logUniform(500, 3_000_000),
      bytesRecv: r.logUniform(300, 400_000),
      protocol: "TCP",
      dnsQuery: "",
      parentProcess: parent,
      userContext: userName,
    });
};

const unusualProtocol: Starter = (rng, victim) => {
  const mode = rng.int(0, 4);
  const path = rng.chance(0.5)
    ? droppedPath(rng, victim, [
        "ptunnel.exe",
        "icmpsh.exe",
        "chisel.exe",
        "socat.exe",
        "plink.exe",
      ])
    : rng.pick([
        "C:\\Windows\\System32\\PING.EXE",
        "C:\\Windows\\System32\\svchost.exe",
        POWERSHELL,
        "C:\\Windows\\System32\\OpenSSH\\ssh.exe",
      ]);
  const hash = binaryHash(rng, path);
  const ip = rareIp(rng);
  const parent = rng.pick(["cmd.exe", "explorer.exe", "services.exe", "powershell.exe"]);
  const odd = rng.pick(["GRE", "SCTP", "IPIP", "ESP", "IGMP", "L2TP", "SOCKS"]);
  const tunnelPort = rng.pick([53, 123, 161, 69, 110, 25, rng.int(1024, 65535)]);
  return (r, timeMs) => {
    let protocol = "ICMP";
    let port = 0;
    let sent = r.logUniform(1_000, 5_000_000);
    let recv = r.logUniform(1_000, 2_000_000);
    if (mode === 1) {
      protocol = odd;
      port = r.chance(0.5) ? 0 : r.int(1, 65535);
    } else if (mode === 2) {
      protocol = "TCP";
      port = tunnelPort;
    } else if (mode === 3) {
      protocol = "UDP";
      port = r.int(1024, 65535);
    } else if (mode === 4) {
      protocol = r.pick(["HTTP", "QUIC", "RAW", "IPv6-in-IPv4"]);
      port = r.pick([22, 53, 123, 0, 31337]);
      sent = r.logUniform(200, 800_000);
      recv = r.logUniform(200, 800_000);
    }
    return simEvent({
      timeMs,
      processPath: path,
      processHash: hash,
      sourceIp: victim.ip,
      destIp: ip,
      destDomain: "",
      destPort: port,
      bytesSent: sent,
      bytesRecv: recv,
      protocol,
      dnsQuery: "",
      parentProcess: parent,
      userContext: victim.user,
    });
  };
};

function isLotl(name: ScenarioName): name is LotlScenarioName {
  return (LOTL_SCENARIOS as readonly string[]).includes(name);
}

const STARTERS: Readonly<Record<Exclude<ScenarioName, LotlScenarioName>, Starter>> = {
  exfiltration,
  port_scan: portScan,
  dns_tunnel: dnsTunnel,
  c2_beacon: c2Beacon,
  crypto_mining: cryptoMining,
  lateral_movement: lateralMovement,
  unusual_protocol: unusualProtocol,
};
