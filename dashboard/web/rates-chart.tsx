import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { FeedStore } from "./feed-store.js";
import { formatCount } from "./format.js";

/** Events/s and anomalies/s over the last few minutes, drawn by uPlot. */
export function RatesChart({ rates, version }: { rates: FeedStore["rates"]; version: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (box.current === null) return;
    const axis = { stroke: "#333", grid: { stroke: "#e3e3e3" }, ticks: { stroke: "#ccc" } };
    plot.current = new uPlot(
      {
        width: Math.max(300, box.current.clientWidth),
        height: 160,
        series: [
          {},
          { label: "events/s", stroke: "#1f5fa8", width: 2, value: (_u, v) => formatCount(v) },
          {
            label: "anomalies/s",
            stroke: "#b3261e",
            width: 2,
            scale: "anomalies",
            value: (_u, v) => formatCount(v),
          },
        ],
        axes: [
          axis,
          { ...axis, values: (_u, vs) => vs.map(formatCount) },
          {
            ...axis,
            side: 1,
            scale: "anomalies",
            grid: { show: false },
            values: (_u, vs) => vs.map(formatCount),
          },
        ],
        scales: { x: { time: true } },
      },
      [[], [], []],
      box.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData([rates.t, rates.events, rates.anomalies]);
  }, [version, rates]);
  return <div ref={box} class="rates" aria-hidden="true" />;
}
