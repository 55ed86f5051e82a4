import { useState } from "preact/hooks";
import { markBenign } from "./client.js";
import type { FeedItem } from "./feed-store.js";
import { basename, formatScore, formatTime } from "./format.js";

/** Rows the feed renders at most: the DOM stays small however long the page runs. */
export const FEED_ROWS = 100;

/** Moves focus to the previous or next row on the arrow keys. */
function onRowKey(e: KeyboardEvent): void {
  const row = e.currentTarget as HTMLElement;
  const to =
    e.key === "ArrowDown"
      ? row.nextElementSibling
      : e.key === "ArrowUp"
        ? row.previousElementSibling
        : null;
  if (to instanceof HTMLElement) {
    e.preventDefault();
    to.focus();
  }
}

function Contributions({ item }: { item: FeedItem }) {
  const cs = item.anomaly.contributions;
  const max = Math.max(...cs.map((c) => Math.abs(c.contribution)), 1e-9);
  return (
    <ul class="bars" aria-label="top contributions">
      {cs.map((c) => (
        <li key={c.feature} class="contribution">
          <span class="feature">{c.feature}</span>
          <span class="bar" aria-hidden="true">
            <span style={{ width: `${Math.round((Math.abs(c.contribution) / max) * 100)}%` }} />
          </span>
          <span class="num">{c.contribution.toFixed(1)}</span>
        </li>
      ))}
    </ul>
  );
}

/** What became of "mark benign" per alert id; the oldest are forgotten past this many. */
const FEEDBACK_KEPT = 500;

/** The "mark benign" button of one row, then what the server said. */
function MarkBenign({
  alertId,
  said,
  onSaid,
}: {
  alertId: string;
  said: string | undefined;
  onSaid: (text: string) => void;
}) {
  if (said !== undefined) {
    return (
      <span class="feedback" role="status">
        {said}
      </span>
    );
  }
  return (
    <button
      type="button"
      class="benign"
      onClick={() => {
        onSaid("sending…");
        void markBenign(alertId).then(onSaid);
      }}
    >
      Mark benign
    </button>
  );
}

/** The anomaly feed, newest first, filtered by host and process. */
export function Feed({ items }: { items: readonly FeedItem[] }) {
  const [feedback, setFeedback] = useState<ReadonlyMap<string, string>>(new Map());
  const say = (alertId: string, text: string) =>
    setFeedback((old) => {
      const next = new Map(old);
      next.delete(alertId);
      next.set(alertId, text);
      if (next.size > FEEDBACK_KEPT) next.delete(next.keys().next().value as string);
      return next;
    });
  const [host, setHost] = useState("");
  const [process, setProcess] = useState("");
  const hosts = [...new Set(items.map((i) => i.host))].sort();
  const needle = process.trim().toLowerCase();
  const shown: FeedItem[] = [];
  let matching = 0;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as FeedItem;
    if (host !== "" && item.host !== host) continue;
    if (needle !== "" && !item.process.toLowerCase().includes(needle)) continue;
    matching++;
    if (shown.length < FEED_ROWS) shown.push(item);
  }
  return (
    <section class="panel feed" aria-labelledby="feed-title">
      <h2 id="feed-title">Anomalies</h2>
      <div class="filters">
        <label>
          Host{" "}
          <select
            value={host}
            onChange={(e) => setHost((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">all</option>
            {hosts.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </label>
        <label>
          Process{" "}
          <input
            type="search"
            value={process}
            placeholder="name or path"
            onInput={(e) => setProcess((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <span class="muted" aria-live="polite">
          {matching} of {items.length} kept
          {matching > shown.length ? `, newest ${shown.length} shown` : ""}
        </span>
      </div>
      <div class="rows">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Host</th>
              <th scope="col">Process</th>
              <th scope="col">Destination</th>
              <th scope="col">Score / threshold</th>
              <th scope="col">Top contributions</th>
              <th scope="col">Feedback</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((item) => (
              <tr
                key={item.key}
                tabIndex={0}
                onKeyDown={onRowKey}
                data-alert-id={item.anomaly.alertId}
              >
                <td>
                  <time dateTime={new Date(item.timeMs).toISOString()}>
                    {formatTime(item.timeMs)}
                  </time>
                </td>
                <td>{item.host}</td>
                <td title={item.process}>{basename(item.process) || "–"}</td>
                <td>{item.destination}</td>
                <td class="score">
                  {formatScore(item.anomaly.score)} / {formatScore(item.anomaly.threshold)}
                </td>
                <td>
                  <Contributions item={item} />
                </td>
                <td>
                  <MarkBenign
                    alertId={item.anomaly.alertId}
                    said={feedback.get(item.anomaly.alertId)}
                    onSaid={(text) => say(item.anomaly.alertId, text)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {items.length === 0 ? <p class="muted">No anomalies yet.</p> : null}
    </section>
  );
}
