import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  createTelemetryFeaturizer,
  dnsFeatures,
  fitTelemetryFeatures,
  isInternalIp,
  TELEMETRY_FEATURES,
} from "./features.js";
import { normalEvents } from "./testdata/events.js";

const spec = fitTelemetryFeatures(normalEvents(1000));
const featurizer = createTelemetryFeaturizer(spec);

function features(event: Parameters<typeof featurizer.featurize>[0]): Record<string, number> {
  const out = new Float64Array(featurizer.nFeatures);
  featurizer.featurize(event, out);
  return Object.fromEntries(TELEMETRY_FEATURES.map((n, i) => [n, out[i] as number]));
}

describe("createTelemetryFeaturizer()", () => {
  it("gives unseen categories the highest rarity, log(N + 1)", () => {
    const f = features(
      create(NetworkEventSchema, {
        processPath: "C:\\evil\\new.exe",
        destDomain: "never.example",
        destPort: 31337,
        protocol: "GRE",
      }),
    );
    const max = Math.log(1001);
    expect(f.process_rarity).toBeCloseTo(max, 12);
    expect(f.process_dest_rarity).toBeCloseTo(max, 12);
    expect(f.port_rarity).toBeCloseTo(max, 12);
    expect(f.protocol_rarity).toBeCloseTo(max, 12);
  });

  it("gives a missing hash, parent, user or timestamp its context's usual rarity, and a different one a high rarity", () => {
    const svchost = "C:\\Windows\\System32\\svchost.exe";
    const full = normalEvents(1000).find((e) => e.processPath === svchost && e.timestamp);
    if (!full) throw new Error("test data has no timed svchost event");
    const usual = features(full);
    const missing = features(
      create(NetworkEventSchema, {
        ...full,
        processHash: "",
        parentProcess: "",
        userContext: "",
        timestamp: undefined,
      }),
    );
    for (const name of [
      "process_hash_rarity",
      "parent_process_rarity",
      "user_process_rarity",
      "process_hour_rarity",
    ]) {
      expect(missing[name], name).toBeLessThanOrEqual(usual[name] as number);
    }
    const different = features(
      create(NetworkEventSchema, {
        ...full,
        processHash: "0000feedbeef",
        parentProcess: "winword.exe",
        userContext: "guest",
      }),
    );
    const max = Math.log(1001);
    expect(different.process_hash_rarity).toBeCloseTo(max, 12);
    expect(different.parent_process_rarity).toBeCloseTo(max, 12);
    expect(different.user_process_rarity).toBeCloseTo(max, 12);
  });

  it("gives a common process low rarity whatever the case of its path", () => {
    const f = features(
      create(NetworkEventSchema, { processPath: "c:\\WINDOWS\\system32\\SVCHOST.EXE" }),
    );
    expect(f.process_rarity).toBeLessThan(2);
  });

  it("measures volume against the (process, port) baseline", () => {
    const normal = features(
      create(NetworkEventSchema, {
        processPath: "C:\\Windows\\System32\\svchost.exe",
        destPort: 53,
        bytesSent: 64n,
      }),
    );
    const huge = features(
      create(NetworkEventSchema, {
        processPath: "C:\\Windows\\System32\\svchost.exe",
        destPort: 53,
        bytesSent: 500_000n,
      }),
    );
    expect(Math.abs(normal.bytes_sent_vs_baseline ?? 99)).toBeLessThan(2);
    expect(huge.bytes_sent_vs_baseline).toBeGreaterThan(10);
  });

  it("finds every training event's keys in the tables it was fitted on", () => {
    // Fitting builds keys one way (tableKey) and featurizing another (cached
    // two-level lookups); a training event looking "unseen" means they drifted.
    const events = normalEvents(1000);
    const out = new Float64Array(featurizer.nFeatures);
    for (const e of events) {
      featurizer.featurize(e, out);
      TELEMETRY_FEATURES.forEach((name, i) => {
        if (name.endsWith("_rarity")) expect(out[i], name).toBeLessThan(Math.log(1001) - 0.1);
      });
    }
  });

  it("writes only finite values, for an empty event too", () => {
    const out = new Float64Array(featurizer.nFeatures);
    featurizer.featurize(create(NetworkEventSchema, {}), out);
    for (const v of out) expect(Number.isFinite(v)).toBe(true);
  });

  it("writes at an offset without touching the rest", () => {
    const out = new Float64Array(featurizer.nFeatures * 2).fill(-7);
    featurizer.featurize(create(NetworkEventSchema, {}), out, featurizer.nFeatures);
    expect(out[featurizer.nFeatures - 1]).toBe(-7);
  });
});

describe("dnsFeatures()", () => {
  it("is all zeros for no query", () => {
    expect(dnsFeatures("")).toEqual({ length: 0, labels: 0, maxLabel: 0, entropy: 0 });
  });

  it("gives a tunnel-like query high length, labels and entropy", () => {
    const plain = dnsFeatures("www.google.com");
    const tunnel = dnsFeatures("a9x7q2kz0p4m8v1c3b6n5.t0r8w2y4u6i9o1p3.data.evil-cdn.net");
    expect(plain.labels).toBe(3);
    expect(plain.entropy).toBe(0);
    expect(tunnel.labels).toBe(5);
    expect(tunnel.maxLabel).toBe(21);
    expect(tunnel.entropy).toBeGreaterThan(4);
  });
});

describe("isInternalIp()", () => {
  it("knows the private ranges", () => {
    for (const ip of [
      "10.1.2.3",
      "192.168.1.1",
      "172.16.0.1",
      "172.31.255.1",
      "127.0.0.1",
      "fd00::1",
      "fe80::2",
    ]) {
      expect(isInternalIp(ip)).toBe(true);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "142.250.185.46", "2001:db8::1", ""])
      expect(isInternalIp(ip)).toBe(false);
  });
});

describe("fitTelemetryFeatures() fields", () => {
  const flows = normalEvents(500).map((e) => ({
    ...e,
    processPath: "",
    processHash: "",
    parentProcess: "",
    userContext: "",
    dnsQuery: "",
    destDomain: "",
  }));
  const flowSpec = fitTelemetryFeatures(flows);
  const flowFeaturizer = createTelemetryFeaturizer(flowSpec);
  const featuresOf = (e: (typeof flows)[number]) => {
    const out = new Float64Array(flowFeaturizer.nFeatures);
    flowFeaturizer.featurize(e, out);
    return [...out];
  };

  it("counts each event once in the global volume baseline when events carry no process", () => {
    // The global baseline's key is "", as is a missing process: counted
    // twice, the model file failed its own check (n > rows) on load.
    const global = flowSpec.baselines.find(([key]) => key === "");
    expect(global?.[1][0]).toBe(flows.length);
    expect(flowSpec.baselines.every(([, b]) => b[0] <= flowSpec.rows)).toBe(true);
  });

  it("records the fields the training data carried, and leaves full-schema specs unmarked", () => {
    expect(flowSpec.fields).toEqual([
      "timestamp",
      "source_ip",
      "dest_ip",
      "dest_port",
      "bytes_sent",
      "bytes_recv",
      "protocol",
    ]);
    expect(spec.fields).toBeUndefined();
  });

  it("scores an event's fields the model never had as if they were empty", () => {
    const flow = flows[3] as (typeof flows)[number];
    const withProcess = {
      ...flow,
      processPath: "/tmp/.x/never-seen",
      parentProcess: "sshd",
      userContext: "mallory",
      dnsQuery: "aGVsbG8.tunnel.example",
    };
    expect(featuresOf(withProcess)).toEqual(featuresOf(flow));
    // A full-schema model does see the process: the same event is not the same to it.
    const full = (e: typeof withProcess) => {
      const out = new Float64Array(featurizer.nFeatures);
      featurizer.featurize(e, out);
      return [...out];
    };
    expect(full(withProcess)).not.toEqual(full(flow));
  });
});
