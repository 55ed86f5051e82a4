import { timestampMs } from "@bufbuild/protobuf/wkt";
import type {
  GetModelInfoResponse,
  WatchStats,
} from "../../gen/netanomaly/v1/scoring_service_pb.js";
import { formatCount, formatDateTime, formatScore } from "./format.js";

/** The served model and the last reload's outcome. */
export function ModelStatus({
  stats,
  info,
}: {
  stats: WatchStats | undefined;
  info: GetModelInfoResponse | undefined;
}) {
  const m = stats?.model;
  if (m === undefined) {
    return (
      <section class="panel" aria-labelledby="model-title">
        <h2 id="model-title">Model</h2>
        <p class="muted">Waiting for the server…</p>
      </section>
    );
  }
  const outcome = m.lastReloadOutcome;
  return (
    <section class="panel" aria-labelledby="model-title">
      <h2 id="model-title">Model</h2>
      <dl class="model">
        <dt>Version</dt>
        <dd>
          <code title={m.modelVersion}>{m.modelVersion.slice(0, 12) || "none loaded"}</code>
        </dd>
        <dt>Trained on</dt>
        <dd>{formatCount(Number(m.trainingRows))} rows</dd>
        <dt>Threshold</dt>
        <dd>{formatScore(m.threshold)}</dd>
        {info === undefined ? null : (
          <>
            <dt>Forest</dt>
            <dd>
              {info.nEstimators} trees, {info.features.length} features
            </dd>
          </>
        )}
        <dt>Loaded</dt>
        <dd>{m.loadedTime === undefined ? "–" : formatDateTime(timestampMs(m.loadedTime))}</dd>
        <dt>Last reload</dt>
        <dd class={outcome === "rejected" ? "bad" : ""}>
          {m.lastReloadTime === undefined
            ? "none since start"
            : `${outcome} at ${formatDateTime(timestampMs(m.lastReloadTime))}${m.lastReloadMessage ? `: ${m.lastReloadMessage}` : ""}`}
        </dd>
      </dl>
    </section>
  );
}
