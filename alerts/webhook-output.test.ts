import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Alert, buildAlert } from "./alert.js";
import { anomaly } from "./testdata/anomaly.js";
import { createWebhookOutput, SIGNATURE_HEADER, signBody } from "./webhook-output.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A real HTTP receiver answering each request with what `answer(n)` says (n from 1). */
async function receiver(answer: (n: number) => { status: number; keep: boolean }) {
  const got: { body: string; signature: string | undefined; id: string | undefined }[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const a = answer(++n);
      if (a.keep) {
        got.push({
          body,
          signature: req.headers[SIGNATURE_HEADER] as string | undefined,
          id: req.headers["x-netanomaly-alert-id"] as string | undefined,
        });
      }
      res.writeHead(a.status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

const alerts = (n: number): Alert[] =>
  Array.from({ length: n }, (_, i) =>
    buildAlert(anomaly(i, { src: `10.0.0.${i}` }), {
      key: `k${i}`,
      count: 1,
      firstSeenMs: i,
      lastSeenMs: i,
      nowMs: 0,
    }),
  );

describe("createWebhookOutput()", () => {
  it("delivers every alert in order once the receiver recovers, duplicates counted", async () => {
    // Requests 1-3: the receiver is down (503, nothing kept). Requests 4-5: it
    // stores the alert but answers 500 (a lost acknowledgement). Then it is well.
    const rx = await receiver((n) => ({
      status: n <= 5 ? (n <= 3 ? 503 : 500) : 204,
      keep: n > 3,
    }));
    const counts = { sent: 0, failed: 0 };
    const out = createWebhookOutput({
      url: rx.url,
      secret: "s3cret",
      baseDelayMs: 5,
      maxDelayMs: 20,
      report: (o, n) => {
        counts[o] += n;
      },
    });
    const sent = alerts(30);
    for (const a of sent) out.send(a);
    await out.close(10_000);
    expect(counts).toEqual({ sent: 30, failed: 5 });
    const ids = rx.got.map((g) => JSON.parse(g.body).alertId as string);
    // At least once, in order: the one alert retried after a lost acknowledgement came 3 times.
    expect([...new Set(ids)]).toEqual(sent.map((a) => a.alertId));
    expect(ids.length - new Set(ids).size).toBe(2);
    for (const g of rx.got) {
      expect(g.signature).toBe(signBody("s3cret", g.body));
      expect(g.id).toBe(JSON.parse(g.body).alertId);
    }
  });

  it("drops the oldest alerts from a full queue and gives up on the rest at close", async () => {
    const rx = await receiver(() => ({ status: 503, keep: false }));
    const counts = { sent: 0, failed: 0 };
    const out = createWebhookOutput({
      url: rx.url,
      maxQueue: 4,
      baseDelayMs: 5,
      maxDelayMs: 5,
      report: (o, n) => {
        counts[o] += n;
      },
    });
    for (const a of alerts(10)) out.send(a);
    await out.close(100);
    expect(counts.sent).toBe(0);
    // 6 dropped at once, 4 given up at close, plus each failed try in between.
    expect(counts.failed).toBeGreaterThanOrEqual(11);
  });
});
