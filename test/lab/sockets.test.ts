import { describe, expect, it } from "vitest";
import { parseCurlReport } from "./office.js";
import { parseSs } from "./sockets.js";

const SS = `ESTAB 0      0      10.203.0.1:45678 10.203.0.2:22 users:(("ssh",pid=4711,fd=3))
\t cubic wscale:7,7 rto:204 rtt:0.05/0.02 mss:1448 bytes_sent:4513 bytes_acked:4514 bytes_received:906038 segs_out:40
TIME-WAIT 0      0      10.203.0.1:45000 10.203.0.2:80
\t cubic bytes_sent:88
ESTAB 0      0      10.203.0.1:45680 10.203.0.2:80 users:(("curl",pid=4712,fd=5))
\t cubic bytes_sent:89 bytes_acked:90 bytes_received:300127
`;

describe("parseSs()", () => {
  it("reads each owned socket's process, peer port and tcp_info byte counters", () => {
    const c = parseSs(SS, 5);
    expect(c).toHaveLength(2);
    expect(c[0]).toMatchObject({
      process: "ssh",
      destPort: 22,
      bytesSent: 4513,
      bytesRecv: 906038,
    });
    expect(c[1]).toMatchObject({ process: "curl", destPort: 80, bytesSent: 89, bytesRecv: 300127 });
  });
});

describe("parseCurlReport()", () => {
  it("adds request and upload bytes, header and body bytes", () => {
    expect(parseCurlReport("89 20000 153 300000 200")).toEqual({
      sent: 20089,
      recv: 300153,
      status: 200,
    });
  });

  it("names what curl printed when it is not five numbers", () => {
    expect(() => parseCurlReport("000")).toThrow(/curl -w printed "000"/);
  });
});
