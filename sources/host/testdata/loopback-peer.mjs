// A loopback peer for host-source.test.ts, forked with IPC. It listens on
// TCP and UDP at argv[2] (an address), answers one HTTP request with
// argv[3] body bytes, sending the first half at once and the rest when the
// parent says "finish" (so the connection is live during the collector's
// polls), and echoes every UDP datagram. It reports what it sent and
// received on each TCP connection.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

const host = process.argv[2];
const bodyBytes = Number(process.argv[3]);
const header = `HTTP/1.1 200 OK\r\nContent-Length: ${bodyBytes}\r\nConnection: close\r\n\r\n`;
const body = Buffer.alloc(bodyBytes, 0x61);
const waiting = [];

const server = createServer((socket) => {
  let request = "";
  socket.on("data", (chunk) => {
    request += chunk.toString("latin1");
    if (!request.includes("\r\n\r\n") || socket.answered) return;
    socket.answered = true;
    socket.write(header);
    socket.write(body.subarray(0, bodyBytes / 2));
    waiting.push(socket);
    process.send({ type: "accepted", remotePort: socket.remotePort });
  });
  socket.on("close", () =>
    process.send({ type: "closed", received: socket.bytesRead, sent: socket.bytesWritten }),
  );
});
const udp = createSocket(host.includes(":") ? "udp6" : "udp4");
udp.on("message", (msg, from) => udp.send(msg, from.port, from.address));
process.on("message", (m) => {
  if (m === "finish") for (const s of waiting.splice(0)) s.end(body.subarray(bodyBytes / 2));
  if (m === "exit") process.exit(0);
});
server.listen(0, host, () =>
  udp.bind(0, host, () =>
    process.send({
      type: "listening",
      tcpPort: server.address().port,
      udpPort: udp.address().port,
      headerBytes: header.length,
    }),
  ),
);
