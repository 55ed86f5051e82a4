import { describe, expect, it } from "vitest";
import { findSuppression, parseSuppressions } from "./suppressions.js";
import { anomaly } from "./testdata/anomaly.js";

const FILE = [
  "# comments and blank lines are skipped",
  "",
  '{"id":"curl","match":{"process_path":{"prefix":"/usr/bin/"},"dest_ip":{"cidr":"203.0.113.0/24"}},"reason":"updates"}',
  '{"match":{"dest_port":{"range":[8000,8100]}},"reason":"dev servers","expires":"2020-01-01T00:00:00Z"}',
  '{"match":{"dest_ip":{"cidr":"10.0.0/8"}},"reason":"bad cidr"}',
  '{"match":{"source_ip":"10.0.0.9","protocol":"UDP"},"reason":"exact"}',
  "not json",
  '{"match":{},"reason":"silences everything"}',
  '{"match":{"dest_port":{"prefix":"80"}},"reason":"prefix on a number"}',
  '{"match":{"colour":"red"},"reason":"unknown field"}',
  '{"match":{"dest_port":443}}',
].join("\n");

describe("parseSuppressions()", () => {
  it("keeps the good rules and names file:line and field of each bad one", () => {
    const { rules, problems } = parseSuppressions(FILE, "rules.jsonl");
    expect(rules.map((r) => r.id)).toEqual(["curl", "rules.jsonl:4", "rules.jsonl:6"]);
    expect(problems.map((p) => p.where)).toEqual([
      "rules.jsonl:5",
      "rules.jsonl:7",
      "rules.jsonl:8",
      "rules.jsonl:9",
      "rules.jsonl:10",
      "rules.jsonl:11",
    ]);
    expect(problems[0]?.message).toMatch(/^match\.dest_ip: cidr "10\.0\.0\/8"/);
    expect(problems[1]?.message).toMatch(/^not JSON/);
    expect(problems[2]?.message).toMatch(/^match: at least one field/);
    expect(problems[3]?.message).toMatch(/^match\.dest_port: prefix/);
    expect(problems[4]?.message).toMatch(/^match\.colour: unknown field/);
    expect(problems[5]?.message).toMatch(/^reason: /);
  });

  it("rejects a repeated id", () => {
    const line = '{"id":"a","match":{"dest_port":1},"reason":"r"}';
    const { rules, problems } = parseSuppressions(`${line}\n${line}`, "f");
    expect(rules).toHaveLength(1);
    expect(problems).toEqual([{ where: "f:2", message: 'id: "a" is used by an earlier rule' }]);
  });
});

describe("findSuppression()", () => {
  const { rules } = parseSuppressions(FILE, "rules.jsonl");
  const now = Date.parse("2026-12-07T00:00:00Z");

  it("matches on prefix and CIDR together", () => {
    expect(findSuppression(rules, anomaly(0).event, now)?.id).toBe("curl");
    expect(findSuppression(rules, anomaly(0, { dest: "198.51.100.1" }).event, now)).toBeUndefined();
    expect(findSuppression(rules, anomaly(0, { proc: "/opt/curl" }).event, now)).toBeUndefined();
  });

  it("ignores an expired rule", () => {
    const e = anomaly(0, { proc: "/opt/x", port: 8080 }).event;
    expect(findSuppression(rules, e, now)).toBeUndefined();
    expect(findSuppression(rules, e, Date.parse("2019-12-31T00:00:00Z"))?.id).toBe("rules.jsonl:4");
  });

  it("matches a domain by suffix", () => {
    const { rules: r } = parseSuppressions(
      '{"match":{"dest_domain":{"suffix":".corp.local"}},"reason":"lan"}',
      "f",
    );
    expect(
      findSuppression(r, anomaly(0, { domain: "printer.corp.local" }).event, now),
    ).toBeDefined();
    expect(
      findSuppression(r, anomaly(0, { domain: "corp.local.evil.io" }).event, now),
    ).toBeUndefined();
  });

  it("needs every field of a rule to match", () => {
    const e = anomaly(0, { src: "10.0.0.9", proc: "/opt/x" }).event;
    expect(findSuppression(rules, e, now)).toBeUndefined();
    e.protocol = "UDP";
    expect(findSuppression(rules, e, now)?.id).toBe("rules.jsonl:6");
  });
});
