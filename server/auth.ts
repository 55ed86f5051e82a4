import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { unauthenticatedError } from "./errors.js";

/**
 * Who made a request, as the rate limiter and logs see it: `key:<n>` (the
 * n-th configured API key, from 1; never the key itself) or `ip:<address>`.
 */
export const clientIdKey = createContextKey<string>("anonymous", {
  description: "client identity: key index or remote address",
});

/** The peer's address, from the socket: set by the adapter for every request. */
export const remoteAddressKey = createContextKey<string>("", {
  description: "remote address of the connection",
});

/** A configured API key set, stored only as SHA-256 digests. */
export interface ApiKeys {
  /** Number of keys; 0 means authentication is off. */
  readonly size: number;
  /**
   * Finds a presented key in constant time: every stored digest is compared
   * with `timingSafeEqual` against the digest of `presented`, with no early
   * exit, so neither the key's length nor which key matched leaks through timing.
   *
   * @returns the 1-based index of the matching key, or 0.
   */
  match(presented: string): number;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Visible ASCII without spaces: what fits in `authorization: Bearer <key>`. */
const KEY_SYNTAX = /^[\x21-\x7e]+$/;

/**
 * Builds an {@link ApiKeys} from plain keys (duplicates are merged).
 *
 * @throws Error naming the position of a key that is not visible ASCII
 *   (the key itself is never echoed).
 */
export function createApiKeys(keys: readonly string[], source = "key"): ApiKeys {
  const digests: Buffer[] = [];
  const seen = new Set<string>();
  keys.forEach((key, i) => {
    if (!KEY_SYNTAX.test(key)) {
      throw new Error(`${source} ${i + 1} has characters outside visible ASCII (0x21-0x7e)`);
    }
    const d = digest(key);
    if (!seen.has(d.toString("hex"))) {
      seen.add(d.toString("hex"));
      digests.push(d);
    }
  });
  return {
    size: digests.length,
    match(presented) {
      const d = digest(presented);
      let found = 0;
      digests.forEach((stored, i) => {
        // Both sides are 32-byte digests, so timingSafeEqual never throws on length.
        if (timingSafeEqual(stored, d) && found === 0) {
          found = i + 1;
        }
      });
      return found;
    },
  };
}

/**
 * Reads keys from the `API_KEYS` value (comma-separated) and from a keys
 * file (one key per line; blank lines and lines starting with `#` are
 * skipped; surrounding whitespace is trimmed).
 *
 * @throws Error naming the file and line of a malformed key, never the key.
 */
export function loadApiKeys(envValue: string | undefined, file: string | undefined): ApiKeys {
  const fromEnv = (envValue ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  createApiKeys(fromEnv, "API_KEYS entry");
  const fromFile: string[] = [];
  if (file !== undefined) {
    readFileSync(file, "utf8")
      .split(/\r?\n/)
      .forEach((raw, i) => {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
          return;
        }
        if (!KEY_SYNTAX.test(line)) {
          throw new Error(`${file}:${i + 1}: key has characters outside visible ASCII (0x21-0x7e)`);
        }
        fromFile.push(line);
      });
  }
  return createApiKeys([...fromEnv, ...fromFile]);
}

/**
 * True for addresses of this host's loopback interface: `127.0.0.0/8`,
 * `::1`, and their IPv4-mapped IPv6 forms (`::ffff:127.0.0.1`).
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  const family = address === undefined ? 0 : isIP(address);
  if (family === 0) {
    return false;
  }
  return LOOPBACK.check(address as string, family === 4 ? "ipv4" : "ipv6");
}

// BlockList also matches IPv4-mapped IPv6 addresses against IPv4 subnets.
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * True for a listen host that binds only loopback: `localhost`, `127.x.y.z`, `::1`.
 */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || isLoopbackAddress(host);
}

/** Options for {@link createAuthInterceptor}. */
export interface AuthOptions {
  keys: ApiKeys;
  /** Also protect health and reflection; default: only `netanomaly.v1.ScoringService`. */
  all?: boolean;
}

/**
 * Checks `authorization: Bearer <key>` on every `ScoringService` RPC (every
 * RPC with `all`), failing with `unauthenticated` when it is missing or
 * wrong, and records the caller in {@link clientIdKey}. With no keys
 * configured it only records the remote address as the caller.
 */
export function createAuthInterceptor(options: AuthOptions): Interceptor {
  const { keys } = options;
  return (next) => async (req) => {
    const remote = req.contextValues.get(remoteAddressKey);
    if (keys.size === 0) {
      req.contextValues.set(clientIdKey, `ip:${remote}`);
      return next(req);
    }
    const protect = options.all === true || req.service.typeName === ScoringService.typeName;
    req.contextValues.set(
      clientIdKey,
      authenticate(keys, req.header.get("authorization"), remote, protect),
    );
    return next(req);
  };
}

/**
 * Checks one call's `authorization` header against `keys` (which must not be
 * empty): `Bearer <key>`, scheme case-insensitive.
 *
 * @param protect whether the RPC needs a key; an unprotected call with a
 *   missing or wrong key is let through as its address.
 * @returns the caller for {@link clientIdKey}: `key:<n>` or `ip:<remote>`.
 * @throws ConnectError `unauthenticated` for a protected call without a valid key.
 */
export function authenticate(
  keys: ApiKeys,
  header: string | null | undefined,
  remote: string,
  protect: boolean,
): string {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  const index = match?.[1] === undefined ? 0 : keys.match(match[1]);
  if (index === 0 && protect) {
    throw unauthenticatedError(header == null ? "missing" : "invalid");
  }
  return index === 0 ? `ip:${remote}` : `key:${index}`;
}
