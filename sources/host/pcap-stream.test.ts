import { describe, expect, it } from "vitest";
import { ipv6 } from "./pcap-stream.js";

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

describe("ipv6()", () => {
  it("writes RFC 5952 text: the longest zero run as ::, lowercase, no leading zeros", () => {
    expect(ipv6(bytes("00000000000000000000000000000001"))).toBe("::1");
    expect(ipv6(bytes("00000000000000000000000000000000"))).toBe("::");
    expect(ipv6(bytes("20010db8000000000001000000000001"))).toBe("2001:db8::1:0:0:1");
    expect(ipv6(bytes("fe800000000000000000000000000001"))).toBe("fe80::1");
    expect(ipv6(bytes("20010db8000100020003000400050006"))).toBe("2001:db8:1:2:3:4:5:6");
  });

  it("writes an IPv4-mapped address with its dotted quad", () => {
    expect(ipv6(bytes("00000000000000000000ffff0a010203"))).toBe("::ffff:10.1.2.3");
  });
});
