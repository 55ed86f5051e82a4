import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { ensureBundle } from "../dashboard/bundle.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { NetworkEventSchema, Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";

// The live dashboard in Debian's headless Chromium (browser downloads are not
// possible here), against the real server process: key form, the agent's
// attacks in the feed and heat map, histogram, model status, and recovery
// after a server restart on the same ports.

const root = join(import.meta.dirname, "..");
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const results = join(root, "test/results");
const API_KEY = "dashboard-test-key-0123456789";

/** Our own attack: a process and destination the model never saw, from a host of its own. */
const ATTACK_HOST = "10.66.6.6";
const attack = () =>
  create(NetworkEventSchema, {
    timestamp: timestampFromMs(Date.now()),
    processPath: "C:\\Users\\Public\\Downloads\\implant.exe",
    processHash: "deadbeefdeadbeefdeadbeefdeadbeef",
    sourceIp: ATTACK_HOST,
    destIp: "203.0.113.66",
    destPort: 4444,
    protocol: "TCP",
    bytesSent: 987_654_321n,
    bytesRecv: 12n,
    parentProcess: "winword.exe",
    userContext: "User",
  });

interface Running {
  child: ChildProcess;
  port: number;
  dashboardPort: number;
}

/** Alert outputs of the server under test: a JSONL alert file and a suppression file. */
const work = mkdtempSync(join(tmpdir(), "netanomaly-dashboard-"));
const alertFile = join(work, "alerts.jsonl");
const rulesFile = join(work, "suppressions.jsonl");

/** Alerts in the alert file whose event came from `host`. */
function alertsFrom(host: string): number {
  if (!existsSync(alertFile)) return 0;
  return readFileSync(alertFile, "utf8")
    .split("\n")
    .filter(
      (line) =>
        line !== "" &&
        (JSON.parse(line) as { event: { sourceIp?: string } }).event.sourceIp === host,
    ).length;
}

/** Starts `server/main.ts` and waits for both `listening` lines. */
function startServer(port: number, dashboardPort: number): Promise<Running> {
  const child = spawn(
    join(root, "node_modules/.bin/tsx"),
    [
      "server/main.ts",
      "--port",
      String(port),
      "--dashboard",
      `127.0.0.1:${dashboardPort}`,
      "--alert-file",
      alertFile,
      "--suppressions",
      rulesFile,
    ],
    { cwd: root, env: { ...process.env, API_KEYS: API_KEY }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let scoring = 0;
    const timer = setTimeout(
      () => reject(new Error(`server did not start: ${out}${stderr}`)),
      30_000,
    );
    child.once("exit", (code) => reject(new Error(`server exited ${code}: ${out}${stderr}`)));
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === "listening") scoring = rec.port ?? 0;
        if (rec.msg === "dashboard listening" && scoring !== 0) {
          clearTimeout(timer);
          resolve({ child, port: scoring, dashboardPort: rec.port ?? 0 });
        }
      }
      out = out.slice(out.lastIndexOf("\n") + 1);
    });
  });
}

async function stopServer(s: Running | undefined): Promise<void> {
  if (s === undefined || s.child.exitCode !== null) return;
  const exited = new Promise((resolve) => s.child.once("exit", resolve));
  s.child.kill("SIGTERM");
  await exited;
}

function scoringClient(port: number) {
  return createClient(
    ScoringService,
    createGrpcTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${API_KEY}`);
          return next(req);
        },
      ],
    }),
  );
}

/** Sum of the heat map's counts for `host`. */
function heatCount(page: Page, host: string): Promise<number> {
  return page
    .locator(`table.heat td[data-host="${host}"]`)
    .evaluateAll((cells) =>
      cells.reduce(
        (n, c) =>
          n + Number((c as unknown as { dataset: Record<string, string> }).dataset.count ?? 0),
        0,
      ),
    );
}

describe.skipIf(!haveChromium && process.env.CI !== "true")("the dashboard in Chromium", () => {
  let server: Running | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const profile = mkdtempSync(join(tmpdir(), "netanomaly-chromium-"));

  beforeAll(async () => {
    mkdirSync(results, { recursive: true });
    writeFileSync(rulesFile, "");
    await ensureBundle();
    server = await startServer(0, 0);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await stopServer(server);
    rmSync(profile, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("asks for the key, then shows the agent's attacks, heat map, histogram and model", async () => {
    const s = server as Running;
    const consoleErrors: string[] = [];
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${s.dashboardPort}/`);
    // Keys are set: the stream is refused until the key is entered.
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.locator('[data-state="live"]').waitFor({ timeout: 15_000 });

    const client = scoringClient(s.port);
    const info = await client.getModelInfo({});
    const summary = await runAgent({
      target: `http://127.0.0.1:${s.port}`,
      apiKey: API_KEY,
      count: 2000,
      rate: 0,
      anomalyRate: 0.05,
      seed: 19,
    });
    expect(summary).toMatchObject({ sent: 2000, scored: 2000, errors: 0 });
    expect(summary.attacks_caught).toBeGreaterThan(50);
    const flagged = [];
    for (let i = 0; i < 3; i++) {
      flagged.push(await client.score({ event: attack() }));
    }
    for (const r of flagged) expect(r.verdict).toBe(Verdict.ANOMALOUS);
    const top = flagged[0]?.contributions[0]?.feature as string;

    // The injected attack: in the feed with its score and top contribution first.
    const row = page.locator(".feed tbody tr", { hasText: "implant.exe" }).first();
    await row.waitFor({ timeout: 15_000 });
    await expect(row.textContent()).resolves.toContain("203.0.113.66:4444/TCP");
    await expect(row.locator("li.contribution .feature").first().textContent()).resolves.toBe(top);
    await expect(row.locator("td.score").textContent()).resolves.toContain(
      `${(flagged[0]?.score ?? 0).toFixed(2)} / ${info.threshold.toFixed(2)}`,
    );
    // The heat map counts exactly our three for their host, and the agent's anomalies too.
    await expect.poll(() => heatCount(page, ATTACK_HOST), { timeout: 10_000 }).toBe(3);
    const feedHosts = await page.locator("table.heat tbody th").count();
    expect(feedHosts).toBeGreaterThan(1);
    // The page kept every anomaly the server flagged (its stats' total; fewer than the
    // page's ring of 1000), none twice, including the agent's caught attacks.
    const kept = async () => {
      const total = Number(
        (await page.locator(".tiles .big").nth(3).textContent())?.replace(/\D/g, ""),
      );
      const text = await page.locator(".feed .filters .muted").textContent();
      return (
        total >= summary.attacks_caught + 3 &&
        text === `${total} of ${total} kept, newest 100 shown`
      );
    };
    await expect.poll(kept, { timeout: 10_000 }).toBe(true);
    // Histogram: 20 buckets with scores in them, and the threshold line labelled.
    await expect(page.locator("svg.histogram rect").count()).resolves.toBe(20);
    await expect
      .poll(
        async () =>
          Number((await page.locator("#hist-title ~ p").textContent())?.replace(/\D/g, "")),
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThanOrEqual(2000);
    await expect(page.locator("svg .threshold-label").textContent()).resolves.toBe(
      `threshold ${info.threshold.toFixed(2)}`,
    );
    // Model status.
    await expect(page.locator("dl.model code").textContent()).resolves.toBe(
      info.modelVersion.slice(0, 12),
    );
    await expect(page.locator("dl.model").textContent()).resolves.toContain(
      `${Number(info.trainingRows).toLocaleString("en-US")} rows`,
    );
    // Keyboard: rows take focus and the arrow keys move between them.
    await page.locator(".feed tbody tr").first().focus();
    await page.keyboard.press("ArrowDown");
    await expect(page.locator(".feed tbody tr:nth-child(2):focus").count()).resolves.toBe(1);
    await page.screenshot({ path: join(results, "dashboard.png"), fullPage: false });

    // "Mark benign" on the attack: Feedback adds a suppression rule for its
    // pattern, so the next identical event is still scored and shown here,
    // but raises no alert. Alerts are written in order: once a later, other
    // attack's alert is in the file, the suppressed one would be there too.
    await expect.poll(() => alertsFrom(ATTACK_HOST), { timeout: 10_000 }).toBe(3);
    await row.getByRole("button", { name: "Mark benign" }).click();
    await expect
      .poll(() => row.locator(".feedback").textContent(), { timeout: 10_000 })
      .toMatch(/^suppressed \(fb-al_[0-9a-f]{24}\)$/);
    expect(readFileSync(rulesFile, "utf8")).toContain(ATTACK_HOST);
    expect((await client.score({ event: attack() })).verdict).toBe(Verdict.ANOMALOUS);
    const other = create(NetworkEventSchema, { ...attack(), sourceIp: "10.66.6.8" });
    expect((await client.score({ event: other })).verdict).toBe(Verdict.ANOMALOUS);
    await expect.poll(() => alertsFrom("10.66.6.8"), { timeout: 10_000 }).toBe(1);
    expect(alertsFrom(ATTACK_HOST)).toBe(3);
    await expect.poll(() => heatCount(page, ATTACK_HOST), { timeout: 10_000 }).toBe(4);
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  it("reconnects after the server restarts on the same ports", async () => {
    const before = server as Running;
    await stopServer(before);
    await page.locator('[data-state="reconnecting"]').waitFor({ timeout: 15_000 });
    server = await startServer(before.port, before.dashboardPort);
    // The key is still in the tab: no form, straight back to live.
    await page.locator('[data-state="live"]').waitFor({ timeout: 20_000 });
    const fresh = await scoringClient(before.port).score({
      event: create(NetworkEventSchema, { ...attack(), sourceIp: "10.66.6.7" }),
    });
    expect(fresh.verdict).toBe(Verdict.ANOMALOUS);
    await page
      .locator(".feed tbody tr", { hasText: "10.66.6.7" })
      .first()
      .waitFor({ timeout: 15_000 });
    // What the page saw before the restart is still there.
    await expect.poll(() => heatCount(page, ATTACK_HOST)).toBe(4);
    await page.screenshot({ path: join(results, "dashboard-reconnected.png"), fullPage: false });
  }, 90_000);
});
