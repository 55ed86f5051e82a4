/**
 * The clients' --tls-ca and --api-key flags against the server's real routes
 * behind an HTTP/2 TLS listener (certificates made with openssl for this run).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDetector } from "../detector/index.js";
import { createServerParts } from "../server/server.js";
import { jsonLines, ROOT, runProcess, trainTestModel } from "./deploy-harness.js";

let dir: string;
let server: http2.Http2SecureServer;
let port: number;
let goBinary: string;
const sessions = new Set<http2.ServerHttp2Session>();
/** The authorization header of every call the server saw. */
const authorizations: (string | null)[] = [];

/** Runs openssl, failing the test on a non-zero exit. */
async function openssl(args: string[]): Promise<void> {
  const run = await runProcess("openssl", args, { cwd: dir });
  expect(run.code, `openssl ${args.join(" ")}\n${run.stderr}`).toBe(0);
}

/** Makes `<file>.key` and a self-signed CA certificate `<file>.pem` valid for a day. */
function selfSignedCa(name: string, file: string): Promise<void> {
  const args = ["-nodes", "-days", "1", "-subj", `/CN=${name}`];
  return openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    ...args,
    "-keyout",
    `${file}.key`,
    "-out",
    `${file}.pem`,
  ]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-tls-"));
  // A throwaway CA, and a server certificate it signs for IP 127.0.0.1.
  writeFileSync(
    join(dir, "v3.ext"),
    "[v3]\nsubjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n",
  );
  await selfSignedCa("netanomaly test CA", "ca");
  // A second CA that signed nothing we serve.
  await selfSignedCa("other CA", "other-ca");
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "v3.ext",
    "-extensions",
    "v3",
    "-out",
    "server.pem",
  ]);

  const model = JSON.parse(readFileSync(trainTestModel(dir), "utf8"));
  const parts = createServerParts({
    detector: createDetector(model),
    logger: pino({ level: "silent" }),
  });
  const recorder: Interceptor = (next) => (req) => {
    authorizations.push(req.header.get("authorization"));
    return next(req);
  };
  const handler = connectNodeAdapter({
    ...parts.connect,
    interceptors: [recorder, ...(parts.connect.interceptors ?? [])],
  });
  server = http2.createSecureServer(
    { key: readFileSync(join(dir, "server.key")), cert: readFileSync(join(dir, "server.pem")) },
    handler,
  );
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;

  goBinary = join(dir, "score");
  const build = await runProcess("go", ["build", "-o", goBinary, "./cmd/score"], {
    cwd: join(ROOT, "clients/go"),
    env: { ...process.env, GOPROXY: "off", GOFLAGS: "-mod=readonly -buildvcs=false" },
    timeoutMs: 180_000,
  });
  expect(build.code).toBe(0);
}, 240_000);

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const clients: Record<string, (flags: string[]) => [string, string[]]> = {
  python: (flags) => [
    "/usr/bin/python3",
    [join(ROOT, "clients/python/score.py"), ...flags.map((f) => f.replace(/^-([a-z])/, "--$1"))],
  ],
  go: (flags) => [goBinary, flags],
};

for (const [name, command] of Object.entries(clients)) {
  describe(`${name} client over TLS`, () => {
    it("verifies the server with --tls-ca and sends --api-key as a bearer token", async () => {
      const before = authorizations.length;
      const [cmd, args] = command([
        "-target",
        `127.0.0.1:${port}`,
        "-tls-ca",
        join(dir, "ca.pem"),
        "-api-key",
        "s3cret",
        "-json",
      ]);
      const run = await runProcess(cmd, args);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(jsonLines(run.stdout)).toHaveLength(4);
      // One Score call and one StreamScore stream, both carrying the key.
      expect(authorizations.slice(before)).toEqual(["Bearer s3cret", "Bearer s3cret"]);
    });

    it("fails with unavailable when the server's certificate is not trusted", async () => {
      const [cmd, args] = command([
        "-target",
        `127.0.0.1:${port}`,
        "-tls-ca",
        join(dir, "other-ca.pem"),
      ]);
      const run = await runProcess(cmd, args);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^score: rpc failed: unavailable: /m);
    });
  });
}
