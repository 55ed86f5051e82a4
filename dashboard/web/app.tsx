import { useEffect, useMemo, useState } from "preact/hooks";
import type { GetModelInfoResponse } from "../../gen/netanomaly/v1/scoring_service_pb.js";
import { storedKey, storeKey, type WatchStatus, watch } from "./client.js";
import { Feed } from "./feed.js";
import { FeedStore } from "./feed-store.js";
import { formatCount } from "./format.js";
import { HeatMap } from "./heat-map.js";
import { Histogram } from "./histogram.js";
import { KeyForm } from "./key-form.js";
import { ModelStatus } from "./model-status.js";
import { RatesChart } from "./rates-chart.js";

function statusText(s: WatchStatus): string {
  switch (s.state) {
    case "connecting":
      return "Connecting…";
    case "live":
      return "Live";
    case "reconnecting":
      return `Disconnected (${s.message}); retrying in ${formatCount(s.retryMs / 1000)} s`;
    case "needs-key":
      return "API key needed";
  }
}

/** The dashboard: status, rates, model, histogram, heat map and feed, live. */
export function App() {
  const store = useMemo(() => new FeedStore(), []);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<WatchStatus>({ state: "connecting" });
  const [info, setInfo] = useState<GetModelInfoResponse | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    void watch(
      {
        onResponse: (res) => {
          store.add(res);
          setVersion((v) => v + 1);
        },
        onModelInfo: setInfo,
        onStatus: setStatus,
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [attempt, store]);
  const stats = store.stats;
  return (
    <>
      <header>
        <h1>netanomaly</h1>
        <p
          class={`status ${status.state}`}
          role="status"
          aria-live="polite"
          data-state={status.state}
        >
          {statusText(status)}
        </p>
        {storedKey() === "" ? null : (
          <button
            type="button"
            onClick={() => {
              storeKey("");
              setAttempt((a) => a + 1);
            }}
          >
            Forget key
          </button>
        )}
      </header>
      {status.state === "needs-key" ? (
        <KeyForm
          message={status.message}
          onKey={(key) => {
            storeKey(key);
            setAttempt((a) => a + 1);
          }}
        />
      ) : null}
      <main>
        <section class="panel tiles" aria-label="rates">
          <div>
            <span class="big" data-testid="events-per-second">
              {formatCount(stats?.eventsPerSecond ?? 0)}
            </span>
            events/s
          </div>
          <div>
            <span class="big" data-testid="anomalies-per-second">
              {formatCount(stats?.anomaliesPerSecond ?? 0)}
            </span>
            anomalies/s
          </div>
          <div>
            <span class="big">{formatCount(Number(stats?.eventsTotal ?? 0))}</span>
            events scored
          </div>
          <div>
            <span class="big">{formatCount(Number(stats?.anomaliesTotal ?? 0))}</span>
            anomalies
          </div>
          {store.dropped > 0 ? (
            <div class="bad">{formatCount(store.dropped)} anomalies dropped (page too slow)</div>
          ) : null}
          <RatesChart rates={store.rates} version={version} />
        </section>
        <ModelStatus stats={stats} info={info} />
        <Histogram stats={stats} />
        <HeatMap heat={store.heat} nowMs={Date.now()} />
        <Feed items={store.items} />
      </main>
    </>
  );
}
