import type { WatchStats } from "../../gen/netanomaly/v1/scoring_service_pb.js";
import { formatCount, formatScore } from "./format.js";

const W = 400;
const H = 150;

/** The score histogram of the last minute (log scale) with the threshold as a line. */
export function Histogram({ stats }: { stats: WatchStats | undefined }) {
  const counts = (stats?.scoreHistogram ?? []).map(Number);
  const threshold = stats?.model?.threshold ?? 0;
  const total = counts.reduce((a, b) => a + b, 0);
  const top = Math.log10(1 + Math.max(1, ...counts));
  const width = counts.length === 0 ? 0 : W / counts.length;
  return (
    <section class="panel" aria-labelledby="hist-title">
      <h2 id="hist-title">Scores, last minute</h2>
      <svg
        viewBox={`0 0 ${W} ${H + 18}`}
        role="img"
        aria-label={`Histogram of ${formatCount(total)} scores; threshold ${formatScore(threshold)}`}
        class="histogram"
      >
        {counts.map((c, i) => {
          const h = (Math.log10(1 + c) / top) * H;
          const low = i / counts.length;
          return (
            <rect
              key={i}
              x={i * width + 1}
              y={H - h}
              width={width - 2}
              height={h}
              class={low >= threshold ? "bucket over" : "bucket"}
            >
              <title>{`${formatScore(low)}–${formatScore(low + 1 / counts.length)}: ${formatCount(c)}`}</title>
            </rect>
          );
        })}
        <line x1={threshold * W} x2={threshold * W} y1={0} y2={H} class="threshold" />
        <text x={Math.min(threshold * W + 4, W - 90)} y={12} class="threshold-label">
          threshold {formatScore(threshold)}
        </text>
        <text x={0} y={H + 15} class="axis">
          0
        </text>
        <text x={W / 2} y={H + 15} class="axis" text-anchor="middle">
          0.5
        </text>
        <text x={W} y={H + 15} class="axis" text-anchor="end">
          1
        </text>
      </svg>
      <p class="muted">{formatCount(total)} scores (bar heights on a log scale)</p>
    </section>
  );
}
