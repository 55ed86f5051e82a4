// Loopback connection load for host-collector-bench.ts: a TCP server on
// 127.0.0.1 and a client opening argv[2] connections per second for
// argv[3] seconds (each: connect, send 64 bytes, read the server's 64
// bytes, close). Bounded in time and count, at most 2,000 in flight. When
// done it prints {"made":N,"failed":N} and waits for stdin to close, so the
// parent can read its CPU accounting before this process is reaped.
import { createConnection, createServer } from "node:net";

const rate = Number(process.argv[2]);
const seconds = Number(process.argv[3]);
const total = Math.round(rate * seconds);
const payload = Buffer.alloc(64, 0x61);
let started = 0;
let made = 0;
let failed = 0;
let inFlight = 0;

const server = createServer((socket) => {
  socket.once("data", () => socket.end(payload));
  socket.on("error", () => {});
});

function connectOnce(port) {
  started++;
  inFlight++;
  const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write(payload));
  socket.on("data", () => {});
  socket.on("end", () => socket.end());
  socket.on("close", (hadError) => {
    inFlight--;
    if (hadError) failed++;
    else made++;
  });
  socket.on("error", () => {});
}

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  const begin = Date.now();
  const timer = setInterval(() => {
    const elapsed = (Date.now() - begin) / 1000;
    const due = Math.min(total, Math.floor(rate * elapsed));
    while (started < due && inFlight < 2000) connectOnce(port);
    if (started >= total || elapsed > seconds + 5) {
      clearInterval(timer);
      const finish = setInterval(() => {
        if (inFlight > 0 && Date.now() - begin < (seconds + 10) * 1000) return;
        clearInterval(finish);
        server.close();
        process.stdout.write(`${JSON.stringify({ made, failed })}\n`);
        process.stdin.resume();
        process.stdin.on("end", () => process.exit(0));
      }, 20);
    }
  }, 10);
});
