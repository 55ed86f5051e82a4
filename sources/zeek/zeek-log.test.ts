import { describe, expect, it } from "vitest";
import { ZeekLogParser, type ZeekRow } from "./zeek-log.js";

function parser(assumed: number[] = []) {
  return new ZeekLogParser({ defaultFields: ["ts", "uid"], onAssumed: (l) => assumed.push(l) });
}

describe("ZeekLogParser", () => {
  it("follows #separator, #set_separator, #empty_field and #unset_field as the header sets them", () => {
    const p = parser();
    const header = [
      "#separator \\x7c",
      "#set_separator|;",
      "#empty_field|EMPTY",
      "#unset_field|NONE",
      "#path|conn",
      "#fields|ts|uid|service|orig_bytes|tunnel_parents",
      "#types|time|string|string|count|set[string]",
    ];
    for (const [i, h] of header.entries()) expect(p.parse(h, i + 1)).toBeNull();
    const row = p.parse("1700000000.5|Cabc|dns;http|NONE|EMPTY", 8) as ZeekRow;
    expect(row.text("ts")).toBe("1700000000.5");
    expect(row.list("service")).toEqual(["dns", "http"]);
    expect(row.text("orig_bytes")).toBeUndefined();
    expect(row.text("tunnel_parents")).toBe("");
    expect(row.list("tunnel_parents")).toEqual([]);
    expect(p.path).toBe("conn");
  });

  it("decodes \\xHH escapes in values", () => {
    const p = parser();
    p.parse("#separator \\x09", 1);
    p.parse("#fields\tts\tquery", 2);
    const row = p.parse("1\tbad\\x09name\\x7c", 3) as ZeekRow;
    expect(row.text("query")).toBe("bad\tname|");
  });

  it("starts over at a new #separator: the new #fields apply to the lines after it", () => {
    const p = parser();
    p.parse("#separator \\x09", 1);
    p.parse("#fields\tts\tuid", 2);
    expect((p.parse("1\tA", 3) as ZeekRow).text("uid")).toBe("A");
    p.parse("#separator \\x09", 4);
    p.parse("#fields\tuid\tts", 5);
    expect((p.parse("B\t2", 6) as ZeekRow).text("ts")).toBe("2");
  });

  it("reads rows without a header by the default fields, once said", () => {
    const assumed: number[] = [];
    const p = parser(assumed);
    expect((p.parse("1\tA", 1) as ZeekRow).text("uid")).toBe("A");
    expect((p.parse("2\tB", 2) as ZeekRow).text("uid")).toBe("B");
    expect(assumed).toEqual([1]);
  });

  it("says what is wrong with a row it cannot read", () => {
    const p = parser();
    expect(p.parse("a\tb\tc\td\te", 1)).toBe(
      "no #fields header before this line, and its 5 cells do not match the 2 default fields",
    );
    expect(p.parse("{not json", 2)).toMatch(/^not JSON \(/);
    expect(p.parse("[1,2]", 3)).toBe(
      "no #fields header before this line, and it is not a Zeek record",
    );
  });
});
