/**
 * Faults thrown from inside the Kafka client's own callbacks.
 *
 * @platformatic/kafka 1.35 can throw from a callback after a broker restart:
 * a group operation looks up a coordinator that the metadata it just fetched
 * does not list, and the connection pool reads `.host` of undefined. No frame
 * of ours is on that stack, so nothing we write can catch it, and by default
 * it ends the process, taking its share of the partitions with it until the
 * session times out and leaving it down for good without a supervisor.
 * (2.x, which needs Node 22.22 or later, has the same lookup.)
 *
 * The scorer's records are at least once, so the safe answer to a client
 * fault is the one it gives a stuck call: end the session, close the client,
 * join again. Every other uncaught exception still ends the process.
 */

/** Where the client's code lives: a fault is the client's when the frame that threw is there. */
const CLIENT_FRAME = /[\\/]node_modules[\\/]@platformatic[\\/]kafka[\\/]/;

/** True when `e` was thrown by the Kafka client's code (the top frame of its stack is the client's). */
export function isClientFault(e: unknown): e is Error {
  if (!(e instanceof Error) || typeof e.stack !== "string") return false;
  const top = e.stack.split("\n").find((line) => line.trimStart().startsWith("at "));
  return top !== undefined && CLIENT_FRAME.test(top);
}

/** Listeners to client faults; {@link catchClientFaults} feeds one. */
export interface ClientFaults {
  /** Calls `listener` with every client fault from now on; returns the unsubscribe. */
  subscribe(listener: (e: Error) => void): () => void;
}

/** What {@link catchClientFaults} returns: the feed, and the means to stop catching. */
export interface ClientFaultCatcher extends ClientFaults {
  /** Client faults caught so far. */
  readonly caught: number;
  /** Removes the process handler: uncaught exceptions end the process again. */
  stop(): void;
}

/**
 * Catches uncaught exceptions for the life of the process: client faults go
 * to the subscribers (and to `onFault`, which should log them), anything
 * else to `onOther`, which must end the process as Node would have.
 */
export function catchClientFaults(
  onFault: (e: Error) => void,
  onOther: (e: unknown) => void,
): ClientFaultCatcher {
  const listeners = new Set<(e: Error) => void>();
  let caught = 0;
  const handler = (e: unknown) => {
    if (!isClientFault(e)) {
      onOther(e);
      return;
    }
    caught++;
    onFault(e);
    for (const listener of listeners) listener(e);
  };
  process.on("uncaughtException", handler);
  return {
    get caught() {
      return caught;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      process.off("uncaughtException", handler);
    },
  };
}
