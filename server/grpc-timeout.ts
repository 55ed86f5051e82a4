/** Longest timer Node can set, in ms; a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * Reads a `grpc-timeout` header (up to 8 digits and a unit, gRPC over
 * HTTP/2 spec) in milliseconds.
 *
 * @returns the timeout; `undefined` when the header is absent; `null` when it
 *   is malformed. A timeout beyond Node's largest timer (about 24.8 days) is
 *   returned as is: callers treat it as no deadline.
 */
export function parseGrpcTimeoutMs(
  value: string | string[] | undefined,
): number | undefined | null {
  if (value === undefined) return undefined;
  const m = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (m === null) return null;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}
