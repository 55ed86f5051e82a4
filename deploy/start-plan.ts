/**
 * What the container's start command (`entrypoint.ts`) decides before the
 * server starts: its arguments, and whether it must make an API key.
 */
import { randomBytes } from "node:crypto";
import { UsageError } from "../cli/usage-error.js";
import { parseConfig } from "../server/config.js";

/** What {@link planStart} decided: the server's arguments, and a key it made, if any. */
export interface StartPlan {
  args: string[];
  /** The key made for this start, to be put in `API_KEYS`; undefined when the user gave one. */
  generatedKey: string | undefined;
}

/**
 * Decides how to start the server from the container's arguments and
 * environment. Pure but for the random key.
 *
 * @param args the arguments after `entrypoint.js`.
 * @param env the process environment (`API_KEYS`, `API_KEYS_FILE`, `NETANOMALY_*`).
 */
export function planStart(args: readonly string[], env: NodeJS.ProcessEnv): StartPlan {
  const given = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  const out = [...args];
  const keysFile = env.API_KEYS_FILE || undefined;
  if (keysFile !== undefined && !given("--api-keys-file")) {
    out.push("--api-keys-file", keysFile);
  }
  if (given("--help") || given("-h")) {
    return { args: out, generatedKey: undefined };
  }
  let security: ReturnType<typeof parseConfig>["security"];
  try {
    security = parseConfig(out, env).security;
  } catch (e) {
    // A bad flag: the server reports it in its own words.
    if (e instanceof UsageError) return { args: out, generatedKey: undefined };
    throw e;
  }
  const hasKey = security.apiKeysEnv !== undefined || security.apiKeysFile !== undefined;
  if (hasKey || security.insecure) {
    return { args: out, generatedKey: undefined };
  }
  return { args: out, generatedKey: randomBytes(16).toString("hex") };
}

/** The lines written to stderr about a key made for this start. */
export function generatedKeyNotice(key: string): string {
  return (
    "netanomaly: no API key was given (API_KEYS, API_KEYS_FILE or --api-keys-file), " +
    "so this container made one. Clients must send it:\n" +
    `netanomaly: API key ${key}\n` +
    'netanomaly: as "authorization: Bearer <key>" (agent: NETANOMALY_API_KEY=<key>; ' +
    "clients/python/score.py: --api-key <key>). It changes on every start; " +
    "set API_KEYS or API_KEYS_FILE to keep one.\n"
  );
}
