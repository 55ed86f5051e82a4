// Connection load for host-collector-bench.ts: a client opening argv[2]
// connections per second for argv[3] seconds (each: connect, send 64 bytes,
// read the server's 64 bytes, close) to the server at argv[4] (HOST:PORT),
// or to its own server on 127.0.0.1 when there is no argv[4]. Bounded in
// time and count, at most 2,000 in flight. When done it prints
// {"made":N,"failed":N} and waits for stdin to close, so the parent can read
// its CPU accounting before this process is reaped.
//
// `host-load.mjs --serve HOST` is that server alone (run in another network
// namespace): it prints {"port":N} once listening and exits when stdin closes.
import { createConnection, createServer } from "node:net";

const payload = Buffer.alloc(64, 0x61);

if (process.argv[2] === "--serve") {
  const server = serve();
  server.listen(0, process.argv[3], () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
} else {
  load();
}

function serve() {
  const server = createServer((socket) => {
    socket.once("data", () => socket.end(payload));
    socket.on("error", () => {});
  });
  return server;
}

function load() {
  const rate = Number(process.argv[2]);
  const seconds = Number(process.argv[3]);
  const total = Math.round(rate * seconds);
  let started = 0;
  let made = 0;
  let failed = 0;
  let inFlight = 0;

  const [remoteHost, remotePort] = (process.argv[4] ?? "").split(":");
  const server = remoteHost ? undefined : serve();

  function connectOnce(host, port) {
    started++;
    inFlight++;
    const socket = createConnection({ host, port }, () => socket.write(payload));
    socket.on("data", () => {});
    socket.on("end", () => socket.end());
    socket.on("close", (hadError) => {
      inFlight--;
      if (hadError) failed++;
      else made++;
    });
    socket.on("error", () => {});
  }

  const run = (host, port) => {
    const begin = Date.now();
    const timer = setInterval(() => {
      const elapsed = (Date.now() - begin) / 1000;
      const due = Math.min(total, Math.floor(rate * elapsed));
      while (started < due && inFlight < 2000) connectOnce(host, port);
      if (started >= total || elapsed > seconds + 5) {
        clearInterval(timer);
        const finish = setInterval(() => {
          if (inFlight > 0 && Date.now() - begin < (seconds + 10) * 1000) return;
          clearInterval(finish);
          server?.close();
          process.stdout.write(`${JSON.stringify({ made, failed })}\n`);
          process.stdin.resume();
          process.stdin.on("end", () => process.exit(0));
        }, 20);
      }
    }, 10);
  };
  if (server) server.listen(0, "127.0.0.1", () => run("127.0.0.1", server.address().port));
  else run(remoteHost, Number(remotePort));
}
