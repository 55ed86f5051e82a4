/** Formatting for people: rounded numbers, local times. */

/** A rate or count: no decimals from 10 up, one below, grouped digits. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const digits = Math.abs(n) >= 10 || n === 0 ? 0 : 1;
  return n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A score or threshold in (0, 1]: two decimals. */
export function formatScore(n: number): string {
  return n.toFixed(2);
}

/** Time of day in the viewer's zone, to the second. */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour12: false });
}

/** Date and time in the viewer's zone, to the second. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { hour12: false });
}

/** The last path segment of a Windows or POSIX path. */
export function basename(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i < 0 ? path : path.slice(i + 1);
}
