import { describe, expect, it } from "vitest";
import { STATS_MESSAGE, startStatsLog } from "./soak-stats.js";
import { captureLogs } from "./testdata/harness.js";

describe("startStatsLog()", () => {
  it("logs RSS, heap and event-loop delay at info every interval until stopped", async () => {
    const { logger, lines } = captureLogs("info");
    const stop = startStatsLog(logger, 20);
    while (lines.length < 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    stop();
    const count = lines.length;
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 30,
        msg: STATS_MESSAGE,
        rssMb: expect.any(Number),
        heapUsedMb: expect.any(Number),
        loopDelayP50Ms: expect.any(Number),
        loopDelayP99Ms: expect.any(Number),
        loopDelayMaxMs: expect.any(Number),
      });
      expect(line.rssMb as number).toBeGreaterThan(0);
      expect(line.loopDelayP50Ms as number).toBeGreaterThanOrEqual(0);
    }
    await new Promise((r) => setTimeout(r, 60));
    expect(lines).toHaveLength(count);
  });
});
