/**
 * Waits for `work` at most `ms`: the Kafka client's calls mostly end on
 * their own (request timeouts, retries), but a few have been seen to wait
 * forever after a broker restart (a close behind a join that never ends, a
 * send queued on a dead connection). Bounding every call the scorer waits on
 * means a wedged call becomes an error it can act on, never silence.
 *
 * On timeout the promise rejects with a {@link TimeoutError} naming `what`;
 * `work` keeps running and whatever it settles to later is ignored.
 */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A bounded call that did not settle in time. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer in ${formatSeconds(ms)}`);
    this.name = "TimeoutError";
  }
}

function formatSeconds(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  return ms % 1_000 === 0 ? `${ms / 1_000} s` : `${(ms / 1_000).toFixed(1)} s`;
}
