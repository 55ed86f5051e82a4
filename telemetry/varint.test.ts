import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { varintSize, writeVarint } from "./varint.js";

describe("writeVarint()", () => {
  it("writes protobuf's varint, and varintSize its length, from 0 to 2^53 − 1", () => {
    const values = [
      0,
      1,
      127,
      128,
      300,
      16_383,
      16_384,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
    ];
    values.push(2 ** 35 + 7, 2 ** 49, Number.MAX_SAFE_INTEGER);
    for (const v of values) {
      const expected = new BinaryWriter().uint64(v).finish();
      const buf = new Uint8Array(12).fill(0xee);
      const end = writeVarint(buf, 1, v);
      expect(buf.subarray(1, end), String(v)).toEqual(expected);
      expect(buf[0]).toBe(0xee);
      expect(varintSize(v), String(v)).toBe(expected.length);
    }
  });
});
