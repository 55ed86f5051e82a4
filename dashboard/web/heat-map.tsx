import { HEAT_MINUTES } from "./feed-store.js";

/** Hosts the heat map shows at most: the busiest. */
const HEAT_HOSTS = 10;

/** Anomaly counts per host (rows) and minute (columns), last {@link HEAT_MINUTES} minutes. */
export function HeatMap({
  heat,
  nowMs,
}: {
  heat: Map<number, Map<string, number>>;
  nowMs: number;
}) {
  const last = Math.floor(nowMs / 60_000);
  const minutes = Array.from({ length: HEAT_MINUTES }, (_, i) => last - HEAT_MINUTES + 1 + i);
  const totals = new Map<string, number>();
  let max = 1;
  for (const row of heat.values()) {
    for (const [host, n] of row) {
      totals.set(host, (totals.get(host) ?? 0) + n);
      max = Math.max(max, n);
    }
  }
  const hosts = [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, HEAT_HOSTS)
    .map(([h]) => h);
  const label = (m: number) =>
    new Date(m * 60_000).toLocaleTimeString(undefined, {
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
    });
  return (
    <section class="panel heat-panel" aria-labelledby="heat-title">
      <h2 id="heat-title">Anomalies by host and minute</h2>
      {hosts.length === 0 ? (
        <p class="muted">No anomalies in the last {HEAT_MINUTES} minutes.</p>
      ) : (
        <table class="heat">
          <thead>
            <tr>
              <th scope="col">Host</th>
              {minutes.map((m, i) => (
                <th scope="col" key={m} class="minute">
                  {i % 5 === 4 || i === minutes.length - 1 ? label(m) : ""}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {hosts.map((host) => (
              <tr key={host}>
                <th scope="row">{host}</th>
                {minutes.map((m) => {
                  const n = heat.get(m)?.get(host) ?? 0;
                  const level = n === 0 ? 0 : Math.ceil((n / max) * 4);
                  return (
                    <td
                      key={m}
                      class={`heat-${level}`}
                      data-host={host}
                      data-count={n}
                      title={`${host}, ${label(m)}: ${n} anomalies`}
                    >
                      {n === 0 ? "" : n}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
