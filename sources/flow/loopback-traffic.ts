import { createSocket, type Socket } from "node:dgram";
import { createConnection, createServer, type Server } from "node:net";

/** One connection the generator made, with the payload it moved each way. */
export interface KnownConnection {
  protocol: "TCP" | "UDP";
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** Payload bytes from client to server. */
  sent: number;
  /** Payload bytes from server to client. */
  recv: number;
}

/** Loopback addresses of the generated traffic, apart from everything else on `lo`. */
export const TCP_CLIENT = "127.0.0.1";
export const TCP_SERVER = "127.0.0.2";
export const UDP_CLIENT = "127.0.0.3";
export const UDP_SERVER = "127.0.0.1";

/**
 * Binds a server to a port below Linux's ephemeral range (20000–29999, as a
 * service would be), trying random ones a bounded number of times.
 */
async function bindService<T>(bind: (port: number) => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await bind(20000 + Math.floor(Math.random() * 10000));
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

function listenTcp(port: number): Promise<Server> {
  const server = createServer((socket) => {
    let head = "";
    let body = 0;
    let want = -1;
    socket.on("data", (chunk: Buffer) => {
      if (want < 0) {
        head += chunk.toString("latin1");
        const nl = head.indexOf("\n");
        if (nl < 0) return;
        const [verb, size] = head.slice(0, nl).split(" ");
        want = Number(size);
        if (verb === "GET") {
          socket.end(Buffer.alloc(want, 0x61));
          return;
        }
        body = head.length - nl - 1;
      } else body += chunk.length;
      if (body >= want) socket.end("ok\n");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, TCP_SERVER, () => resolve(server));
  });
}

/** One TCP exchange: `GET n` downloads n bytes; `PUT n` uploads n and reads `ok\n`. */
function exchange(port: number, verb: "GET" | "PUT", size: number): Promise<KnownConnection> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: TCP_SERVER, port, localAddress: TCP_CLIENT });
    let recv = 0;
    const request = Buffer.from(`${verb} ${size}\n`);
    const upload = verb === "PUT" ? Buffer.alloc(size, 0x62) : Buffer.alloc(0);
    let clientPort = 0;
    socket.on("connect", () => {
      clientPort = socket.localPort as number;
      socket.end(Buffer.concat([request, upload]));
    });
    socket.on("data", (chunk: Buffer) => {
      recv += chunk.length;
    });
    socket.on("error", reject);
    socket.on("close", () =>
      resolve({
        protocol: "TCP",
        clientIp: TCP_CLIENT,
        clientPort,
        serverIp: TCP_SERVER,
        serverPort: port,
        sent: request.length + upload.length,
        recv,
      }),
    );
  });
}

function bindUdp(address: string, port: number): Promise<Socket> {
  const s = createSocket("udp4");
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, address, () => resolve(s));
  });
}

/**
 * A UDP client socket on a port none of this run's conversations used: the
 * kernel may hand out an ephemeral port again once it is free, and two
 * conversations on one port are one flow to a capture or an exporter. A
 * port already used is held bound while the next is asked for.
 */
async function bindFreshUdp(used: Set<number>): Promise<Socket> {
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const s = await bindUdp(UDP_CLIENT, 0);
      const port = s.address().port;
      if (!used.has(port)) {
        used.add(port);
        return s;
      }
      held.push(s);
    }
    throw new Error("no unused UDP client port in 100 binds");
  } finally {
    for (const s of held) s.close();
  }
}

/** `rounds` datagrams of `ask` bytes from one fresh client socket, each answered three times larger. */
async function udpExchange(
  serverPort: number,
  rounds: number,
  ask: number,
  used: Set<number>,
): Promise<KnownConnection> {
  const client = await bindFreshUdp(used);
  let recv = 0;
  try {
    for (let i = 0; i < rounds; i++) {
      const reply = new Promise<Buffer>((resolve) => client.once("message", resolve));
      await new Promise<void>((resolve, reject) =>
        client.send(Buffer.alloc(ask), serverPort, UDP_SERVER, (e) => (e ? reject(e) : resolve())),
      );
      recv += (await reply).length;
    }
    return {
      protocol: "UDP",
      clientIp: UDP_CLIENT,
      clientPort: client.address().port,
      serverIp: UDP_SERVER,
      serverPort,
      sent: rounds * ask,
      recv,
    };
  } finally {
    client.close();
  }
}

/** Servers of the known traffic, bound and answering, and what a capture must keep. */
export interface LoopbackServers {
  tcpPort: number;
  udpPort: number;
  /** A tcpdump filter for exactly this traffic: these addresses and these ports. */
  filter: string;
  /**
   * Makes the traffic and says what it moved: TCP downloads of 1,000, 65,000
   * and 400,000 bytes and an upload of 200,000 bytes from 127.0.0.1 to the
   * server on 127.0.0.2; one UDP conversation of five 400-byte questions
   * answered with 1,200 bytes each, then `udpShots` one-question conversations
   * from fresh client ports (each answered three times larger), from 127.0.0.3
   * to the server on 127.0.0.1. Every connection is finished (TCP closed,
   * every answer read) when it resolves.
   */
  run(udpShots: number): Promise<KnownConnection[]>;
  close(): void;
}

/** Binds the TCP and UDP servers on service ports (20000–29999). */
export async function startLoopbackServers(): Promise<LoopbackServers> {
  const tcp = await bindService(listenTcp);
  const udp = await bindService((port) => bindUdp(UDP_SERVER, port));
  udp.on("message", (m, from) => udp.send(Buffer.alloc(m.length * 3), from.port, from.address));
  const tcpPort = (tcp.address() as { port: number }).port;
  const udpPort = udp.address().port;
  return {
    tcpPort,
    udpPort,
    filter: `(host ${TCP_SERVER} and tcp port ${tcpPort}) or (host ${UDP_CLIENT} and udp port ${udpPort})`,
    async run(udpShots) {
      const out: KnownConnection[] = [];
      for (const [verb, size] of [
        ["GET", 1000],
        ["GET", 65_000],
        ["GET", 400_000],
        ["PUT", 200_000],
      ] as const) {
        out.push(await exchange(tcpPort, verb, size));
      }
      const used = new Set<number>();
      out.push(await udpExchange(udpPort, 5, 400, used));
      for (let i = 0; i < udpShots; i++) out.push(await udpExchange(udpPort, 1, 100 + i, used));
      return out;
    },
    close() {
      tcp.close();
      udp.close();
    },
  };
}
