import type { Alert } from "./alert.js";

/** What an output reports: each alert delivered, each try that failed, each alert dropped. */
export type DeliveryReport = (outcome: "sent" | "failed", n: number) => void;

/** Options for {@link createDeliveryQueue}. */
export interface DeliveryQueueOptions {
  /** Delivers one alert; rejects if it did not get through. */
  deliver(alert: Alert): Promise<void>;
  report: DeliveryReport;
  /** Called with each failure (for a log line), at most once per outage. */
  onError?(error: unknown, alert: Alert): void;
  /** Alerts held at most; a new alert on a full queue drops the oldest (counted failed). Default 10 000. */
  maxQueue?: number;
  /** First retry delay, ms; doubles per failure up to `maxDelayMs`. Default 500. */
  baseDelayMs?: number;
  /** Longest retry delay, ms. Default 30 000. */
  maxDelayMs?: number;
}

/** A FIFO of alerts delivered one at a time, in order, retried until they get through. */
export interface DeliveryQueue {
  push(alert: Alert): void;
  /** Alerts not yet delivered. */
  readonly size: number;
  /**
   * Stops: waits up to `deadlineMs` for the queue to empty (retrying as
   * usual), then gives up on what is left (counted failed) and resolves.
   */
  close(deadlineMs: number): Promise<void>;
}

/**
 * At-least-once delivery: an alert leaves the queue only once `deliver`
 * resolved for it, so one the receiver took but did not acknowledge (a
 * lost response, a timeout) is sent again — receivers drop duplicates by
 * `alertId`. Failures back off exponentially with ±20 % jitter; the first
 * success resets the delay. The queue is bounded: when a receiver is down
 * long enough to fill it, the oldest alerts are dropped and counted.
 */
export function createDeliveryQueue(options: DeliveryQueueOptions): DeliveryQueue {
  const maxQueue = options.maxQueue ?? 10_000;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const queue: Alert[] = [];
  let running = false;
  let closed = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let idle: (() => void) | undefined;
  // Set when close's deadline passes: stop retrying.
  let giveUp = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  const run = async () => {
    running = true;
    while (queue.length > 0) {
      const alert = queue[0] as Alert;
      try {
        await options.deliver(alert);
        if (queue[0] === alert) {
          queue.shift();
        }
        failures = 0;
        options.report("sent", 1);
      } catch (e) {
        options.report("failed", 1);
        if (failures === 0) {
          options.onError?.(e, alert);
        }
        failures++;
        if (giveUp) {
          break;
        }
        const delay = Math.min(max, base * 2 ** (failures - 1));
        await sleep(delay * (0.8 + 0.4 * Math.random()));
        wake = undefined;
      }
      if (giveUp) {
        break;
      }
    }
    running = false;
    idle?.();
  };

  return {
    push(alert) {
      if (closed) {
        options.report("failed", 1);
        return;
      }
      queue.push(alert);
      if (queue.length > maxQueue) {
        queue.shift();
        options.report("failed", 1);
      }
      if (!running) {
        void run();
      }
    },
    get size() {
      return queue.length;
    },
    async close(deadlineMs) {
      closed = true;
      if (queue.length === 0 && !running) {
        return;
      }
      const done = new Promise<void>((resolve) => {
        idle = resolve;
      });
      const deadline = setTimeout(() => {
        giveUp = true;
        clearTimeout(timer);
        wake?.();
      }, deadlineMs);
      if (!running) {
        void run();
      }
      await done;
      clearTimeout(deadline);
      if (queue.length > 0) {
        options.report("failed", queue.length);
        queue.length = 0;
      }
    },
  };
}
