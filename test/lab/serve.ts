import { createSocket } from "node:dgram";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";

/**
 * The servers host's own services, run inside its namespace:
 *
 *   node --import tsx test/lab/serve.ts --host 10.203.0.2 --http 80 --http 4444 --udp 123
 *
 * Each `--http` port serves `GET /files/N` (N bytes, the same bytes every
 * time) and accepts `PUT`/`POST` of any size (answered with the byte count);
 * `--udp` answers each datagram with a 48-byte NTP-like reply. Prints
 * `ready` on stdout once every port listens.
 */
function main(): void {
  const { values } = parseArgs({
    options: {
      host: { type: "string" },
      http: { type: "string", multiple: true, default: [] },
      udp: { type: "string", multiple: true, default: [] },
    },
  });
  const host = values.host;
  if (host === undefined) throw new Error("--host ADDRESS is required");
  const pending: Promise<void>[] = [];
  for (const port of values.http) {
    const server = createServer(handle);
    pending.push(new Promise((resolve) => server.listen(Number(port), host, resolve)));
  }
  for (const port of values.udp) {
    const socket = createSocket("udp4");
    socket.on("message", (msg, from) => {
      const reply = Buffer.alloc(48);
      reply[0] = 0x24; // LI 0, version 4, mode 4 (server)
      reply[1] = 2; // stratum
      msg.copy(reply, 24, 40, 48); // originate timestamp = the client's transmit timestamp
      reply.writeUInt32BE(Math.floor(Date.now() / 1000) + 2_208_988_800, 40);
      socket.send(reply, from.port, from.address);
    });
    pending.push(new Promise((resolve) => socket.bind(Number(port), host, resolve)));
  }
  Promise.all(pending).then(() => process.stdout.write("ready\n"));
  process.on("SIGTERM", () => process.exit(0));
}

const CHUNK = Buffer.alloc(64 * 1024, "netanomaly lab file body. ");

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "PUT" || req.method === "POST") {
    let n = 0;
    req.on("data", (d: Buffer) => {
      n += d.length;
    });
    req.on("end", () => res.end(`${n}\n`));
    return;
  }
  const m = /^\/files\/(\d+)$/.exec(req.url ?? "");
  const size = m ? Number(m[1]) : -1;
  if (!(size >= 0 && size <= 512 * 1024 * 1024)) {
    res.statusCode = 404;
    res.end("not found\n");
    return;
  }
  res.setHeader("content-length", size);
  let left = size;
  const write = () => {
    while (left > 0) {
      const part = CHUNK.subarray(0, Math.min(left, CHUNK.length));
      left -= part.length;
      if (!res.write(part)) {
        res.once("drain", write);
        return;
      }
    }
    res.end();
  };
  write();
}

main();
