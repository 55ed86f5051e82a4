import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { decodeRecord } from "./codec.js";

const event = create(NetworkEventSchema, {
  timestamp: timestampFromMs(Date.UTC(2024, 11, 16)),
  processPath: "/usr/bin/curl",
  sourceIp: "10.0.0.5",
  destIp: "93.184.216.34",
  destPort: 443,
  bytesSent: 1200n,
  bytesRecv: 5400n,
  protocol: "TCP",
});

describe("decodeRecord()", () => {
  it("decodes the proto JSON mapping that --print writes", () => {
    const d = decodeRecord(Buffer.from(toJsonString(NetworkEventSchema, event)), "json");
    expect(d.ok).toBe(true);
    if (d.ok) expect(d.event).toEqual(event);
  });

  it("decodes a binary NetworkEvent", () => {
    const d = decodeRecord(Buffer.from(toBinary(NetworkEventSchema, event)), "protobuf");
    expect(d.ok && d.event.bytesSent).toBe(1200n);
  });

  it("names the record when the value is not JSON", () => {
    const d = decodeRecord(Buffer.from("{not json"), "json");
    expect(d).toMatchObject({ ok: false, field: "" });
    expect(!d.ok && d.reason).toMatch(/^not a json NetworkEvent: /);
  });

  it("names the field a JSON value cannot fill", () => {
    const d = decodeRecord(Buffer.from('{"bytesSent":"lots"}'), "json");
    expect(d).toMatchObject({ ok: false, field: "bytes_sent" });
  });

  it("names a field the event does not have", () => {
    const d = decodeRecord(Buffer.from('{"colour":"red"}'), "json");
    expect(d).toMatchObject({ ok: false, field: "colour" });
  });

  it("applies the telemetry rules and names the field that breaks one", () => {
    const d = decodeRecord(Buffer.from('{"sourceIp":"999.1.1.1"}'), "json");
    expect(d).toMatchObject({ ok: false, field: "source_ip" });
    expect(!d.ok && d.reason).toContain("999.1.1.1");
  });

  it("rejects bytes that are not a NetworkEvent", () => {
    const d = decodeRecord(Buffer.from([0xff, 0xff, 0xff, 0xff]), "protobuf");
    expect(d).toMatchObject({ ok: false });
    expect(!d.ok && d.reason).toMatch(/^not a protobuf NetworkEvent: /);
  });

  it("rejects an empty record (a tombstone)", () => {
    expect(decodeRecord(undefined, "json")).toMatchObject({ ok: false, field: "" });
    expect(decodeRecord(Buffer.alloc(0), "protobuf")).toMatchObject({ ok: false });
  });
});
