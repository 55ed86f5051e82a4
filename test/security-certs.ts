import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files made for one test run, and their contents. */
export interface TestCerts {
  dir: string;
  /** Path of a PEM file in `dir`, e.g. `path("ca.pem")`. */
  path(name: string): string;
  /** Contents of a PEM file in `dir`. */
  read(name: string): Buffer;
  remove(): void;
}

/**
 * Makes throwaway certificates with openssl (P-256 keys, valid 1 day):
 * `ca.pem` signs `server.pem` (SAN IP:127.0.0.1, DNS:localhost) and
 * `client.pem`; `other-ca.pem` signs `other-client.pem` and nothing we serve.
 * Each `X.pem` has its key in `X.key`.
 */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "netanomaly-certs-"));
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const [name, cn] of [
    ["ca", "netanomaly test CA"],
    ["other-ca", "untrusted test CA"],
  ]) {
    openssl(
      "req",
      "-x509",
      ...key,
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
    );
  }
  writeFileSync(
    join(dir, "ext.cnf"),
    [
      "[server]",
      "subjectAltName = IP:127.0.0.1, DNS:localhost",
      "extendedKeyUsage = serverAuth",
      "basicConstraints = CA:FALSE",
      "[client]",
      "extendedKeyUsage = clientAuth",
      "basicConstraints = CA:FALSE",
      "",
    ].join("\n"),
  );
  for (const [name, ca, ext] of [
    ["server", "ca", "server"],
    ["client", "ca", "client"],
    ["other-client", "other-ca", "client"],
  ] as const) {
    openssl("req", ...key, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
      "-extensions",
      ext,
      "-out",
      `${name}.pem`,
    );
  }
  return {
    dir,
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
