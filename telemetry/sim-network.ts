import { hashString, stableHash12 } from "./sim-random.js";

/**
 * The simulated office network: hosts, the processes each one runs, and the
 * destinations each process talks to with its usual port, protocol and byte
 * counts. Fixed (not seeded): the seed drives the traffic, never the network,
 * so data generated with different seeds describes the same office.
 */

/** When a process is active: during working hours, always, or in the nightly backup window. */
export type ActivityKind = "user" | "system" | "night";

/** One usual destination of a process. */
export interface SimDestination {
  domain: string;
  /** Addresses the domain resolves to (one is picked per connection). */
  ips: readonly string[];
  port: number;
  protocol: string;
  /** Median bytes sent and received per connection. */
  sent: number;
  recv: number;
  /** Log-space standard deviation of both byte counts. */
  sigma: number;
  /** Relative frequency among the process's destinations. */
  weight: number;
  /** Probability that the connection carries its DNS name in `dns_query`. */
  dnsShare: number;
  /** A DNS resolver: `dns_query` is a looked-up name, not the destination. */
  resolver?: boolean;
}

/** One process as it runs on one host. */
export interface SimProcess {
  path: string;
  hash: string;
  parent: string;
  user: string;
  kind: ActivityKind;
  /** Relative share of the host's connections at full activity. */
  weight: number;
  destinations: readonly SimDestination[];
  /** Cumulative destination weights, for picking. */
  cumulative: Float64Array;
}

/** One host (one source IP) with its processes. */
export interface SimHost {
  ip: string;
  name: string;
  role: "office" | "dev" | "admin" | "server";
  /** The interactive user's account name. */
  user: string;
  processes: readonly SimProcess[];
}

const PUBLIC_PREFIXES = [
  "13.107",
  "20.190",
  "23.201",
  "34.117",
  "40.97",
  "52.85",
  "52.114",
  "54.239",
  "104.16",
  "104.244",
  "142.250",
  "151.101",
  "157.240",
  "172.217",
  "185.199",
  "199.232",
];

/** Stable public addresses for a domain, in real cloud/CDN prefixes. */
export function publicIps(domain: string, count = 2): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const h = hashString(`${domain}/${i}`);
    const prefix = PUBLIC_PREFIXES[h % PUBLIC_PREFIXES.length];
    out.push(`${prefix}.${(h >>> 8) & 0xff}.${1 + ((h >>> 16) % 254)}`);
  }
  return out;
}

interface DestSpec {
  domain: string;
  ips?: readonly string[];
  port?: number;
  protocol?: string;
  sent: number;
  recv: number;
  sigma?: number;
  weight?: number;
  dnsShare?: number;
  resolver?: boolean;
}

function dest(spec: DestSpec): SimDestination {
  return {
    domain: spec.domain,
    ips: spec.ips ?? publicIps(spec.domain),
    port: spec.port ?? 443,
    protocol: spec.protocol ?? "TCP",
    sent: spec.sent,
    recv: spec.recv,
    sigma: spec.sigma ?? 0.8,
    weight: spec.weight ?? 1,
    dnsShare: spec.dnsShare ?? 0.7,
    ...(spec.resolver ? { resolver: true } : {}),
  };
}

/** Web sites the browsers visit, most popular first (Zipf-weighted). */
export const WEB_DOMAINS = [
  "google.com",
  "youtube.com",
  "microsoft.com",
  "office.com",
  "github.com",
  "stackoverflow.com",
  "wikipedia.org",
  "amazon.com",
  "linkedin.com",
  "reddit.com",
  "bing.com",
  "cnn.com",
  "bbc.co.uk",
  "nytimes.com",
  "twitter.com",
  "facebook.com",
  "instagram.com",
  "weather.com",
  "adobe.com",
  "apple.com",
  "zoom.us",
  "salesforce.com",
  "atlassian.net",
  "notion.so",
  "figma.com",
  "dropbox.com",
  "medium.com",
  "yahoo.com",
  "ebay.com",
  "walmart.com",
  "target.com",
  "paypal.com",
  "netflix.com",
  "spotify.com",
  "hulu.com",
  "twitch.tv",
  "imdb.com",
  "espn.com",
  "npmjs.com",
  "docker.com",
  "aws.amazon.com",
  "cloudflare.com",
  "vercel.com",
  "heroku.com",
  "digitalocean.com",
  "godaddy.com",
  "wix.com",
  "squarespace.com",
  "shopify.com",
  "trello.com",
] as const;

const browserDests: readonly SimDestination[] = WEB_DOMAINS.map((domain, i) =>
  dest({ domain, sent: 900, recv: 24_000, sigma: 1.1, weight: 1 / (i + 1) ** 0.9 }),
);

const RESOLVERS: readonly SimDestination[] = [
  dest({
    domain: "dns.google",
    ips: ["8.8.8.8", "8.8.4.4"],
    port: 53,
    protocol: "UDP",
    sent: 64,
    recv: 128,
    sigma: 0.25,
    weight: 5,
    resolver: true,
  }),
  dest({
    domain: "cloudflare-dns.com",
    ips: ["1.1.1.1", "1.0.0.1"],
    port: 53,
    protocol: "UDP",
    sent: 60,
    recv: 120,
    sigma: 0.25,
    weight: 2,
    resolver: true,
  }),
  dest({
    domain: "router.local",
    ips: ["192.168.1.1"],
    port: 53,
    protocol: "UDP",
    sent: 62,
    recv: 140,
    sigma: 0.3,
    weight: 3,
    resolver: true,
  }),
];

/** Names the DNS client looks up (the web sites plus service endpoints). */
export const QUERY_DOMAINS: readonly string[] = [
  ...WEB_DOMAINS,
  "outlook.office365.com",
  "teams.microsoft.com",
  "login.microsoftonline.com",
  "update.microsoft.com",
  "wdcp.microsoft.com",
  "onedrive.live.com",
  "slack.com",
  "time.windows.com",
  "ctldl.windowsupdate.com",
  "settings-win.data.microsoft.com",
  "clients4.google.com",
  "api.github.com",
  "registry.npmjs.org",
];

interface ProcSpec {
  path: string;
  parent?: string;
  user?: string;
  kind?: ActivityKind;
  weight: number;
  destinations: readonly SimDestination[];
}

function proc(spec: ProcSpec, hostUser: string): SimProcess {
  const cumulative = new Float64Array(spec.destinations.length);
  let total = 0;
  spec.destinations.forEach((d, i) => {
    total += d.weight;
    cumulative[i] = total;
  });
  const user = spec.user ?? "SYSTEM";
  return {
    path: spec.path,
    hash: stableHash12(spec.path),
    parent: spec.parent ?? "services.exe",
    user: user === "$user" ? hostUser : user,
    kind: spec.kind ?? "system",
    weight: spec.weight,
    destinations: spec.destinations,
    cumulative,
  };
}

const FILE_SERVER = "192.168.1.5";
const PRINTER = "192.168.1.50";
const DC = "10.0.0.10";

// Processes every Windows host runs as SYSTEM, all day.
const baseSystem: readonly ProcSpec[] = [
  {
    path: "C:\\Windows\\System32\\svchost.exe",
    weight: 16,
    destinations: [
      ...RESOLVERS,
      dest({
        domain: "router.local",
        ips: ["192.168.1.1"],
        port: 80,
        sent: 128,
        recv: 256,
        sigma: 0.3,
        weight: 2,
        dnsShare: 0,
      }),
      dest({
        domain: "time.windows.com",
        ips: ["168.61.215.74"],
        port: 123,
        protocol: "UDP",
        sent: 48,
        recv: 48,
        sigma: 0.01,
        weight: 0.5,
      }),
      dest({
        domain: "settings-win.data.microsoft.com",
        port: 443,
        sent: 2_500,
        recv: 4_000,
        weight: 1,
      }),
    ],
  },
  {
    path: "C:\\Windows\\System32\\dns.exe",
    weight: 3,
    destinations: [RESOLVERS[1] as SimDestination],
  },
  {
    path: "C:\\Windows\\System32\\WindowsUpdate.exe",
    weight: 2,
    destinations: [
      dest({ domain: "microsoft.com", port: 443, sent: 512, recv: 8_192, sigma: 1.2, weight: 2 }),
      dest({
        domain: "update.microsoft.com",
        port: 443,
        sent: 900,
        recv: 60_000,
        sigma: 1.8,
        weight: 2,
      }),
      dest({
        domain: "ctldl.windowsupdate.com",
        port: 80,
        sent: 400,
        recv: 12_000,
        sigma: 1,
        weight: 1,
      }),
    ],
  },
  {
    path: "C:\\Windows\\System32\\WindowsDefender.exe",
    weight: 2,
    destinations: [
      dest({
        domain: "wdcp.microsoft.com",
        port: 443,
        sent: 384,
        recv: 1_536,
        sigma: 0.6,
        weight: 3,
      }),
      dest({
        domain: "definitionupdates.microsoft.com",
        port: 443,
        sent: 700,
        recv: 250_000,
        sigma: 1.2,
        weight: 1,
      }),
    ],
  },
  {
    path: "C:\\Windows\\System32\\lsass.exe",
    parent: "wininit.exe",
    weight: 2,
    destinations: [
      dest({
        domain: "dc01.corp.local",
        ips: [DC],
        port: 88,
        sent: 1_400,
        recv: 1_600,
        sigma: 0.3,
        weight: 2,
        dnsShare: 0.2,
      }),
      dest({
        domain: "dc01.corp.local",
        ips: [DC],
        port: 389,
        sent: 600,
        recv: 2_400,
        sigma: 0.6,
        weight: 2,
        dnsShare: 0.2,
      }),
      dest({
        domain: "dc01.corp.local",
        ips: [DC],
        port: 389,
        protocol: "UDP",
        sent: 180,
        recv: 240,
        sigma: 0.2,
        weight: 1,
        dnsShare: 0,
      }),
    ],
  },
];

// SMB to the file server is attributed to the kernel ("System"), as Windows reports it.
const smbClient: ProcSpec = {
  path: "C:\\Windows\\System32\\ntoskrnl.exe",
  parent: "System",
  kind: "user",
  weight: 4,
  destinations: [
    dest({
      domain: "fs01.corp.local",
      ips: [FILE_SERVER],
      port: 445,
      sent: 6_000,
      recv: 90_000,
      sigma: 1.6,
      dnsShare: 0.3,
    }),
  ],
};

const spooler: ProcSpec = {
  path: "C:\\Windows\\System32\\spoolsv.exe",
  kind: "user",
  weight: 0.5,
  destinations: [
    dest({
      domain: "printer.corp.local",
      ips: [PRINTER],
      port: 9100,
      sent: 250_000,
      recv: 600,
      sigma: 1.2,
      weight: 3,
      dnsShare: 0,
    }),
    dest({
      domain: "printer.corp.local",
      ips: [PRINTER],
      port: 631,
      sent: 900,
      recv: 1_800,
      sigma: 0.5,
      weight: 1,
      dnsShare: 0,
    }),
  ],
};

const user = (
  spec: Omit<ProcSpec, "user" | "parent" | "kind"> & { parent?: string },
): ProcSpec => ({
  parent: "explorer.exe",
  user: "$user",
  kind: "user",
  ...spec,
});

const chrome = user({
  path: "C:\\Program Files\\Chrome\\chrome.exe",
  weight: 14,
  destinations: [
    ...browserDests,
    dest({
      domain: "google.com",
      port: 443,
      protocol: "UDP",
      sent: 2_000,
      recv: 30_000,
      sigma: 1.2,
      weight: 2,
    }),
  ],
});
const firefox = user({
  path: "C:\\Program Files\\Firefox\\firefox.exe",
  weight: 10,
  destinations: browserDests,
});
const edge = user({
  path: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
  weight: 8,
  destinations: browserDests,
});
const outlook = user({
  path: "C:\\Program Files\\Outlook\\outlook.exe",
  weight: 6,
  destinations: [
    dest({
      domain: "outlook.office365.com",
      ips: ["40.97.156.114", "40.97.153.146"],
      sent: 768,
      recv: 3_072,
      sigma: 1.2,
      weight: 5,
    }),
    dest({ domain: "login.microsoftonline.com", sent: 1_800, recv: 5_000, sigma: 0.4, weight: 1 }),
  ],
});
const teams = user({
  path: "C:\\Program Files\\Teams\\teams.exe",
  weight: 6,
  destinations: [
    dest({
      domain: "teams.microsoft.com",
      ips: ["13.107.42.14", "13.107.64.2"],
      sent: 2_048,
      recv: 6_144,
      sigma: 1,
      weight: 5,
    }),
    dest({
      domain: "teams.microsoft.com",
      ips: ["52.114.128.9", "52.114.132.71"],
      port: 3478,
      protocol: "UDP",
      sent: 3_000_000,
      recv: 3_500_000,
      sigma: 0.9,
      weight: 0.6,
      dnsShare: 0,
    }),
  ],
});
const slack = user({
  path: "C:\\Program Files\\Slack\\slack.exe",
  weight: 4,
  destinations: [
    dest({
      domain: "slack.com",
      ips: ["52.85.151.22", "52.85.151.91"],
      sent: 640,
      recv: 1_920,
      sigma: 0.9,
      weight: 4,
    }),
    dest({ domain: "wss-primary.slack.com", sent: 3_000, recv: 9_000, sigma: 1, weight: 1 }),
  ],
});
const oneDrive = user({
  path: "C:\\Program Files\\OneDrive\\onedrive.exe",
  weight: 3,
  destinations: [
    dest({ domain: "onedrive.live.com", sent: 40_000, recv: 30_000, sigma: 1.9, weight: 3 }),
    dest({ domain: "corp-my.sharepoint.com", sent: 90_000, recv: 40_000, sigma: 1.9, weight: 2 }),
  ],
});
const zoom = user({
  path: "C:\\Program Files\\Zoom\\zoom.exe",
  weight: 1.5,
  destinations: [
    dest({ domain: "zoom.us", sent: 1_500, recv: 4_000, sigma: 0.8, weight: 2 }),
    dest({
      domain: "zoom.us",
      port: 8801,
      protocol: "UDP",
      sent: 2_000_000,
      recv: 2_500_000,
      sigma: 0.9,
      weight: 1,
      dnsShare: 0,
    }),
  ],
});
const spotify = user({
  path: "C:\\Program Files\\Spotify\\spotify.exe",
  weight: 1.5,
  destinations: [dest({ domain: "spotify.com", sent: 1_200, recv: 3_000_000, sigma: 0.8 })],
});
const antivirus = {
  path: "C:\\Program Files\\Malwarebytes\\mbam.exe",
  weight: 1,
  destinations: [
    dest({ domain: "malwarebytes.com", sent: 600, recv: 2_000, sigma: 0.6, weight: 3 }),
    dest({ domain: "data-cdn.mbamupdates.com", sent: 500, recv: 400_000, sigma: 1, weight: 1 }),
  ],
} satisfies ProcSpec;

const devTools: readonly ProcSpec[] = [
  user({
    path: "C:\\Windows\\System32\\OpenSSH\\ssh.exe",
    parent: "git.exe",
    weight: 3,
    destinations: [
      dest({
        domain: "github.com",
        ips: ["140.82.112.3", "140.82.114.4"],
        port: 22,
        sent: 4_000,
        recv: 60_000,
        sigma: 1.5,
        weight: 4,
      }),
      dest({
        domain: "build01.corp.local",
        ips: ["10.0.0.30"],
        port: 22,
        sent: 8_000,
        recv: 20_000,
        sigma: 1.3,
        weight: 1,
        dnsShare: 0.2,
      }),
    ],
  }),
  user({
    path: "C:\\Program Files\\Git\\cmd\\git.exe",
    parent: "code.exe",
    weight: 2,
    destinations: [
      dest({
        domain: "github.com",
        ips: ["140.82.112.3", "140.82.114.4"],
        sent: 3_000,
        recv: 120_000,
        sigma: 1.6,
      }),
    ],
  }),
  user({
    path: "C:\\Program Files\\VSCode\\code.exe",
    weight: 3,
    destinations: [
      dest({
        domain: "marketplace.visualstudio.com",
        sent: 1_200,
        recv: 40_000,
        sigma: 1.4,
        weight: 2,
      }),
      dest({ domain: "api.github.com", sent: 1_500, recv: 6_000, sigma: 0.8, weight: 2 }),
      dest({
        domain: "update.code.visualstudio.com",
        sent: 600,
        recv: 2_000,
        sigma: 0.5,
        weight: 1,
      }),
    ],
  }),
  user({
    path: "C:\\Program Files\\nodejs\\node.exe",
    parent: "code.exe",
    weight: 2,
    destinations: [dest({ domain: "registry.npmjs.org", sent: 800, recv: 90_000, sigma: 1.7 })],
  }),
  user({
    path: "C:\\Program Files\\Python312\\python.exe",
    parent: "code.exe",
    weight: 1,
    destinations: [
      dest({ domain: "pypi.org", sent: 700, recv: 20_000, sigma: 1, weight: 1 }),
      dest({ domain: "files.pythonhosted.org", sent: 700, recv: 2_000_000, sigma: 1.3, weight: 1 }),
    ],
  }),
  user({
    path: "C:\\Program Files\\Docker\\docker.exe",
    weight: 1,
    destinations: [
      dest({ domain: "registry-1.docker.io", sent: 2_000, recv: 15_000_000, sigma: 1.4 }),
    ],
  }),
];

const adminTools: readonly ProcSpec[] = [
  user({
    path: "C:\\Windows\\System32\\mstsc.exe",
    weight: 3,
    destinations: [
      dest({
        domain: "app01.corp.local",
        ips: ["10.0.0.20"],
        port: 3389,
        sent: 400_000,
        recv: 2_000_000,
        sigma: 1.2,
        dnsShare: 0.5,
      }),
      dest({
        domain: "dc01.corp.local",
        ips: [DC],
        port: 3389,
        sent: 300_000,
        recv: 1_500_000,
        sigma: 1.2,
        dnsShare: 0.5,
      }),
    ],
  }),
  user({
    path: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    weight: 1.5,
    destinations: [
      dest({ domain: "www.powershellgallery.com", sent: 900, recv: 80_000, sigma: 1.2 }),
    ],
  }),
  user({
    path: "C:\\Windows\\System32\\PING.EXE",
    parent: "cmd.exe",
    weight: 1,
    destinations: [
      dest({
        domain: "fs01.corp.local",
        ips: [FILE_SERVER],
        port: 0,
        protocol: "ICMP",
        sent: 32,
        recv: 32,
        sigma: 0.01,
        dnsShare: 0.3,
      }),
      dest({
        domain: "app01.corp.local",
        ips: ["10.0.0.20"],
        port: 0,
        protocol: "ICMP",
        sent: 32,
        recv: 32,
        sigma: 0.01,
        dnsShare: 0.3,
      }),
    ],
  }),
];

const serverTools: readonly ProcSpec[] = [
  {
    path: "C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam.EndPoint.Service.exe",
    kind: "night",
    weight: 10,
    destinations: [
      dest({
        domain: "s3.eu-central-1.wasabisys.com",
        port: 443,
        sent: 150_000_000,
        recv: 400_000,
        sigma: 0.7,
      }),
    ],
  },
  {
    path: "C:\\Windows\\System32\\dfsrs.exe",
    weight: 3,
    destinations: [
      dest({
        domain: "dc01.corp.local",
        ips: [DC],
        port: 5722,
        sent: 20_000,
        recv: 20_000,
        sigma: 1.5,
        dnsShare: 0.1,
      }),
    ],
  },
];

function host(
  ip: string,
  name: string,
  role: SimHost["role"],
  userName: string,
  specs: readonly ProcSpec[],
): SimHost {
  return { ip, name, role, user: userName, processes: specs.map((s) => proc(s, userName)) };
}

const office = [...baseSystem, smbClient, spooler, outlook, teams, slack, oneDrive];

/** The simulated office: six workstations, an admin PC and a file server. */
export const SIM_HOSTS: readonly SimHost[] = [
  host("192.168.1.100", "ws-100", "office", "User", [...office, chrome, firefox, zoom]),
  host("192.168.1.101", "ws-101", "office", "User", [...office, chrome, spotify]),
  host("192.168.1.102", "ws-102", "office", "User", [...office, edge, zoom, antivirus]),
  host("192.168.1.103", "ws-103", "office", "User", [...office, firefox, edge, spotify]),
  host("192.168.1.110", "dev-110", "dev", "User", [...office, chrome, ...devTools]),
  host("192.168.1.111", "dev-111", "dev", "User", [...office, firefox, ...devTools, antivirus]),
  host("192.168.1.120", "adm-120", "admin", "Admin", [...office, edge, ...adminTools, antivirus]),
  host(FILE_SERVER, "fs01", "server", "SYSTEM", [...baseSystem, ...serverTools, antivirus]),
];

/** Internal hosts attackers move towards (workstations, servers, the DC). */
export const INTERNAL_TARGETS: readonly string[] = [
  ...SIM_HOSTS.map((h) => h.ip),
  DC,
  "10.0.0.20",
  "10.0.0.30",
  "10.0.0.40",
  "10.0.1.15",
];

/**
 * How active each kind of process is at a given time (UTC is the office's
 * local time): working hours on weekdays, a quiet weekend, the backup
 * window from 01:00 to 04:00. System services run all day, at a quarter of
 * their daytime rate on workstations out of hours.
 *
 * @returns a factor in [0, 1].
 */
export function activity(
  kind: ActivityKind,
  dayOfWeek: number,
  hour: number,
  role: SimHost["role"] = "server",
): number {
  // Workstations sleep or idle out of hours, so their services go quieter too.
  if (kind === "system")
    return role === "server" ? 1 : 0.25 + 0.75 * activity("user", dayOfWeek, hour);
  if (kind === "night") return hour >= 1 && hour < 4 ? 1 : 0;
  const weekend = dayOfWeek === 0 || dayOfWeek === 6;
  if (weekend) return hour >= 10 && hour < 18 ? 0.08 : 0.02;
  return WEEKDAY_USER[hour] ?? 0;
}

const WEEKDAY_USER = [
  0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.3, 0.8, 1, 1, 1, 0.7, 1, 1, 1, 0.95, 0.6, 0.3, 0.15,
  0.12, 0.1, 0.06, 0.03,
];
