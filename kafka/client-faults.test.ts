import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isClientFault } from "./client-faults.js";

const ROOT = join(import.meta.dirname, "..");

/**
 * Runs `body` in a fresh Node process with client faults caught, and returns
 * its exit code and output. `pool` is a real @platformatic/kafka
 * ConnectionPool; `pool.get(undefined, cb)` throws inside the client's code
 * exactly as the group-coordinator lookup does after a broker restart.
 */
function run(body: string) {
  const script = `
    import { ConnectionPool } from "@platformatic/kafka";
    import { catchClientFaults } from "./kafka/client-faults.ts";
    const pool = new ConnectionPool("fault-test");
    const faults = catchClientFaults(
      (e) => console.log("fault:", e.message),
      (e) => { console.log("other:", e.message); process.exit(1); },
    );
    faults.subscribe((e) => console.log("listener:", e.constructor.name));
    ${body}
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("catchClientFaults()", () => {
  it("hands a throw from inside the Kafka client to its listeners, and the process goes on", () => {
    const r = run(`
      setTimeout(() => pool.get(undefined, () => {}), 0);
      setTimeout(() => console.log("still running, caught", faults.caught), 50);
    `);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("fault: Cannot read properties of undefined (reading 'host')");
    expect(r.out).toContain("listener: TypeError");
    expect(r.out).toContain("still running, caught 1");
  });

  it("still ends the process on any other uncaught exception", () => {
    const r = run(`
      setTimeout(() => { throw new Error("ours"); }, 0);
      setTimeout(() => console.log("should not print"), 50);
    `);
    expect(r.code).toBe(1);
    expect(r.out).toContain("other: ours");
    expect(r.out).not.toContain("should not print");
  });
});

describe("isClientFault()", () => {
  it("looks at the frame that threw, not at the frames below it", () => {
    const e = new Error("x");
    e.stack = [
      "Error: x",
      "    at ours (/app/kafka/scorer.ts:10:5)",
      "    at cb (/app/node_modules/@platformatic/kafka/dist/clients/base/base.js:1:1)",
    ].join("\n");
    expect(isClientFault(e)).toBe(false);
    e.stack = [
      "TypeError: y",
      "    at #get (file:///app/node_modules/@platformatic/kafka/dist/network/connection-pool.js:98:31)",
      "    at ours (/app/kafka/scorer.ts:10:5)",
    ].join("\n");
    expect(isClientFault(e)).toBe(true);
    expect(isClientFault("not an error")).toBe(false);
  });
});
