import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Alert, buildAlert } from "./alert.js";
import { createSyslogOutput, formatSyslog, parseSyslogTarget } from "./syslog-output.js";
import { anomaly } from "./testdata/anomaly.js";

const RSYSLOGD = "/usr/sbin/rsyslogd";
const present = existsSync(RSYSLOGD) || process.env.CI === "true";

const alerts = (n: number, from = 0): Alert[] =>
  Array.from({ length: n }, (_, i) =>
    buildAlert(anomaly(from + i, { proc: `C:\\Temp\\x${from + i}.exe` }), {
      key: `k${from + i}`,
      count: 1 + i,
      firstSeenMs: i,
      lastSeenMs: i,
      nowMs: 1_800_000_000_000,
    }),
  );

describe("formatSyslog()", () => {
  it("writes an RFC 5424 header, escaped structured data and the alert as JSON", () => {
    const a = { ...alerts(1)[0], alertId: 'al_"]\\' } as Alert;
    const line = formatSyslog(a, "host one");
    expect(line).toMatch(
      /^<132>1 2027-01-15T08:00:00\.000Z hostone netanomaly \d+ alert \[netanomaly@32473 alertId="al_\\"\\]\\\\" score="0\.7" count="1" modelVersion="abcdef012345"\] \{/,
    );
    expect(JSON.parse(line.slice(line.indexOf("] {") + 2))).toEqual(a);
  });
});

describe("parseSyslogTarget()", () => {
  it("reads tcp:// and udp:// targets and names a bad one", () => {
    expect(parseSyslogTarget("tcp://127.0.0.1:514")).toEqual({
      transport: "tcp",
      host: "127.0.0.1",
      port: 514,
    });
    expect(parseSyslogTarget("udp://[::1]:5514")).toMatchObject({ transport: "udp", host: "::1" });
    expect(() => parseSyslogTarget("syslog.example:514")).toThrow(/--alert-syslog .*"syslog/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!present)(
  `createSyslogOutput() → rsyslogd${present ? "" : ` — skipped: ${RSYSLOGD} not found`}`,
  () => {
    let dir = "";
    let rsyslog: ChildProcess | undefined;
    let tcp = 0;
    let udp = 0;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "netanomaly-syslog-"));
      [tcp, udp] = [await freePort(), await freePort()];
      writeFileSync(
        join(dir, "rsyslog.conf"),
        [
          `global(workDirectory="${dir}")`,
          'module(load="imtcp")',
          'module(load="imudp")',
          `input(type="imtcp" port="${tcp}" address="127.0.0.1")`,
          `input(type="imudp" port="${udp}" address="127.0.0.1")`,
          'template(name="raw" type="string" string="%app-name%|%msgid%|%structured-data%|%msg%\\n")',
          `*.* action(type="omfile" file="${join(dir, "out.log")}" template="raw")`,
          "",
        ].join("\n"),
      );
      rsyslog = spawn(
        RSYSLOGD,
        ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "rsyslogd.pid")],
        { stdio: "ignore" },
      );
      // Ready when its TCP input accepts a connection (bounded).
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = net.connect(tcp, "127.0.0.1");
          s.once("connect", () => {
            s.destroy();
            resolve(true);
          });
          s.once("error", () => resolve(false));
        }).catch(() => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    afterAll(() => {
      rsyslog?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    });

    it("delivers alerts over TCP (octet counting) and UDP, one message each", async () => {
      const counts = { sent: 0, failed: 0 };
      const report = (o: "sent" | "failed", n: number) => {
        counts[o] += n;
      };
      const viaTcp = alerts(20);
      const viaUdp = alerts(5, 100);
      const t = createSyslogOutput({ transport: "tcp", host: "127.0.0.1", port: tcp, report });
      const u = createSyslogOutput({ transport: "udp", host: "127.0.0.1", port: udp, report });
      for (const a of viaTcp) t.send(a);
      for (const a of viaUdp) u.send(a);
      await Promise.all([t.close(5000), u.close(5000)]);
      expect(counts).toEqual({ sent: 25, failed: 0 });
      const out = join(dir, "out.log");
      let lines: string[] = [];
      for (let i = 0; i < 100 && lines.length < 25; i++) {
        await new Promise((r) => setTimeout(r, 100));
        lines = existsSync(out) ? readFileSync(out, "utf8").split("\n").filter(Boolean) : [];
      }
      const got = lines.map((l) => {
        const [app, msgid, sd, ...msg] = l.split("|");
        return { app, msgid, sd, alert: JSON.parse(msg.join("|")) as Alert };
      });
      expect(got.map((g) => g.alert.alertId).sort()).toEqual(
        [...viaTcp, ...viaUdp].map((a) => a.alertId).sort(),
      );
      for (const g of got) {
        expect(g).toMatchObject({ app: "netanomaly", msgid: "alert" });
        expect(g.sd).toContain(`alertId="${g.alert.alertId}"`);
        expect(g.sd).toContain(`count="${g.alert.count}"`);
      }
    });
  },
);
