// A connected UDP client for host-source.test.ts, forked with IPC: sends
// argv[4] datagrams of argv[5] bytes to argv[2]:argv[3], waits for each
// echo, reports "exchanged", and closes when the parent says "close".
import { createSocket } from "node:dgram";

const [host, port, count, size] = [
  process.argv[2],
  Number(process.argv[3]),
  Number(process.argv[4]),
  Number(process.argv[5]),
];
const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
let echoes = 0;
socket.on("message", () => {
  if (++echoes === count) process.send({ type: "exchanged", localPort: socket.address().port });
  else socket.send(Buffer.alloc(size, 0x62));
});
socket.connect(port, host, () => socket.send(Buffer.alloc(size, 0x62)));
process.on("message", (m) => {
  if (m === "close") socket.close(() => process.exit(0));
});
