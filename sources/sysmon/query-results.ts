import { isIP } from "node:net";
import { plainAddress } from "../log-event.js";

/**
 * Reads Sysmon event 22's `QueryResults`: records separated by `;`, each an
 * address (IPv4 written IPv4-mapped, `::ffff:93.184.216.34`) or a typed
 * record such as a CNAME, `type:  5 edge.example.net`.
 *
 * @returns the answered addresses, plain; names and other types left out.
 */
export function queryResultAddresses(results: string): string[] {
  const out: string[] = [];
  for (const part of results.split(";")) {
    const t = part.trim();
    if (t === "" || t.startsWith("type:")) continue;
    const a = plainAddress(t);
    if (isIP(a) !== 0) out.push(a);
  }
  return out;
}
