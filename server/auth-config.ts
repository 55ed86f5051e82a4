import { type ApiKeys, isLoopbackHost, loadApiKeys } from "./auth.js";
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTION_BODY_BYTES,
  DEFAULT_MAX_PROCESS_BODY_BYTES,
} from "./body-limits.js";
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP } from "./connection-limits.js";
import { createRateLimiter, type RateLimiter } from "./rate-limit.js";
import { loadTlsCredentials, type TlsCredentials } from "./tls.js";

/**
 * The server's security flags (authentication, TLS, limits), parsed apart
 * from the rest of `config.ts` so each stays small: `config.ts` spreads
 * {@link SECURITY_FLAGS} into its `parseArgs` options and calls
 * {@link parseSecurityConfig} with the values.
 */

/** Default largest request message, in bytes (see {@link SecurityConfig.maxMessageBytes}). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Default idle time after which an HTTP/2 connection without streams is closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Default most concurrent HTTP/2 streams per connection. */
export const DEFAULT_MAX_STREAMS = 100;

/** `parseArgs` option specs of the security flags. */
export const SECURITY_FLAGS = {
  "api-keys-file": { type: "string" },
  "auth-all": { type: "boolean" },
  insecure: { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "client-ca": { type: "string" },
  "max-message-bytes": { type: "string" },
  "max-streams": { type: "string" },
  "rate-limit-rps": { type: "string" },
  "rate-limit-eps": { type: "string" },
  "idle-timeout": { type: "string" },
  "max-connections": { type: "string" },
  "max-connections-per-ip": { type: "string" },
  "max-connection-body-bytes": { type: "string" },
  "max-body-bytes": { type: "string" },
  "body-timeout": { type: "string" },
  "header-timeout": { type: "string" },
} as const;

/** Default seconds HTTP/1.1 request headers may take. */
export const DEFAULT_HEADER_TIMEOUT_S = 10;

/** Usage text of the security flags. */
export const SECURITY_USAGE =
  "[--api-keys-file FILE] [--auth-all] [--insecure] [--tls-cert PEM --tls-key PEM [--client-ca PEM]] " +
  "[--max-message-bytes N] [--max-streams N] [--rate-limit-rps R] [--rate-limit-eps R] [--idle-timeout S] " +
  "[--max-connections N] [--max-connections-per-ip N] [--max-connection-body-bytes N] [--max-body-bytes N] " +
  "[--body-timeout S] [--header-timeout S]";

/** Security settings after flags and environment are merged. */
export interface SecurityConfig {
  /** `API_KEYS` from the environment: comma-separated keys, or undefined. */
  apiKeysEnv: string | undefined;
  /** File with one key per line (`#` comments), or undefined. */
  apiKeysFile: string | undefined;
  /** Also require a key for health and reflection. */
  authAll: boolean;
  /** Allow listening on a non-loopback host with no keys configured. */
  insecure: boolean;
  /** TLS certificate chain and private key (PEM files); both or neither. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** CA (PEM) that client certificates must chain to; enables mTLS. */
  clientCa: string | undefined;
  /** Largest request message in bytes, 1 KiB to 64 MiB; default 4 MiB. */
  maxMessageBytes: number;
  /** Concurrent HTTP/2 streams per connection, 1 to 10 000; default 100. */
  maxStreams: number;
  /** Requests per second per client; 0 (default) is unlimited. */
  rateLimitRps: number;
  /** Events per second per client; 0 (default) is unlimited. */
  rateLimitEps: number;
  /** Seconds an HTTP/2 connection without streams may stay idle, 1 to 86 400; default 60. */
  idleTimeoutS: number;
  /** Open connections in total, 1 to 1 000 000; default 1024. */
  maxConnections: number;
  /** Open connections per client address, 1 to 1 000 000; default 256. */
  maxConnectionsPerIp: number;
  /** Unfinished request body bytes per connection, at least the largest message; default 16 MiB. */
  maxConnectionBodyBytes: number;
  /** Unfinished request body bytes for the process, at least the per-connection bound; default 128 MiB. */
  maxBodyBytes: number;
  /** Seconds a request body may take after its headers, 0 (no limit) to 3600; default 30. */
  bodyTimeoutS: number;
  /** Seconds HTTP/1.1 request headers may take, 1 to 3600; default 10. */
  headerTimeoutS: number;
}

/**
 * Reads the security flags from `parseArgs` values and `API_KEYS` from `env`.
 *
 * @param fail builds the error to throw for a bad value (config's UsageError).
 */
export function parseSecurityConfig(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
  fail: (message: string) => Error,
): SecurityConfig {
  const str = (flag: string) => {
    const v = values[flag];
    return typeof v === "string" ? v : undefined;
  };
  const num = (flag: string, min: number, max: number, fallback: number, integer: boolean) => {
    const text = str(flag);
    if (text === undefined) {
      return fallback;
    }
    const n = Number(text);
    if (
      text.trim() === "" ||
      !Number.isFinite(n) ||
      n < min ||
      n > max ||
      (integer && !Number.isInteger(n))
    ) {
      throw fail(
        `--${flag} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got ${JSON.stringify(text)}`,
      );
    }
    return n;
  };
  const tlsCert = str("tls-cert");
  const tlsKey = str("tls-key");
  const clientCa = str("client-ca");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw fail("--tls-cert and --tls-key must be given together");
  }
  if (clientCa !== undefined && tlsCert === undefined) {
    throw fail("--client-ca needs --tls-cert and --tls-key");
  }
  const maxMessageBytes = num(
    "max-message-bytes",
    1024,
    64 * 1024 * 1024,
    DEFAULT_MAX_MESSAGE_BYTES,
    true,
  );
  // A connection must be able to hold one whole message (and its 5-byte frame header).
  const maxConnectionBodyBytes = num(
    "max-connection-body-bytes",
    maxMessageBytes + 5,
    2 ** 40,
    Math.max(DEFAULT_MAX_CONNECTION_BODY_BYTES, maxMessageBytes + 5),
    true,
  );
  const maxBodyBytes = num(
    "max-body-bytes",
    maxConnectionBodyBytes,
    2 ** 40,
    Math.max(DEFAULT_MAX_PROCESS_BODY_BYTES, maxConnectionBodyBytes),
    true,
  );
  return {
    apiKeysEnv: env.API_KEYS || undefined,
    apiKeysFile: str("api-keys-file"),
    authAll: values["auth-all"] === true,
    insecure: values.insecure === true,
    tlsCert,
    tlsKey,
    clientCa,
    maxMessageBytes,
    maxStreams: num("max-streams", 1, 10_000, DEFAULT_MAX_STREAMS, true),
    rateLimitRps: num("rate-limit-rps", 0, 1e9, 0, false),
    rateLimitEps: num("rate-limit-eps", 0, 1e12, 0, false),
    idleTimeoutS: num("idle-timeout", 1, 86_400, DEFAULT_IDLE_TIMEOUT_MS / 1000, false),
    maxConnections: num("max-connections", 1, 1_000_000, DEFAULT_MAX_CONNECTIONS, true),
    maxConnectionsPerIp: num(
      "max-connections-per-ip",
      1,
      1_000_000,
      DEFAULT_MAX_CONNECTIONS_PER_IP,
      true,
    ),
    maxConnectionBodyBytes,
    maxBodyBytes,
    bodyTimeoutS: num("body-timeout", 0, 3600, DEFAULT_BODY_TIMEOUT_MS / 1000, false),
    headerTimeoutS: num("header-timeout", 1, 3600, DEFAULT_HEADER_TIMEOUT_S, false),
  };
}

/** Server options derived from a {@link SecurityConfig}; spread into `createServer`. */
export interface SecurityServerOptions {
  apiKeys: ApiKeys;
  authAll: boolean;
  insecure: boolean;
  tls?: TlsCredentials;
  maxMessageBytes: number;
  maxStreams: number;
  rateLimiter?: RateLimiter;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionBodyBytes: number;
  maxProcessBodyBytes: number;
  bodyTimeoutMs: number;
  headerTimeoutMs: number;
}

/**
 * Loads keys and TLS files and checks the combination: with no API key
 * configured the server may only listen on a loopback host, unless
 * `--insecure` says otherwise.
 *
 * @param fail builds the error to throw (config's UsageError: exit 2).
 */
export function securityServerOptions(
  config: SecurityConfig,
  host: string,
  fail: (message: string) => Error,
): SecurityServerOptions {
  let apiKeys: ApiKeys;
  let tls: TlsCredentials | undefined;
  try {
    apiKeys = loadApiKeys(config.apiKeysEnv, config.apiKeysFile);
    if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
      tls = loadTlsCredentials({
        cert: config.tlsCert,
        key: config.tlsKey,
        ...(config.clientCa === undefined ? {} : { clientCa: config.clientCa }),
      });
    }
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (apiKeys.size === 0 && !config.insecure && !isLoopbackHost(host)) {
    throw fail(
      `refusing to listen on ${JSON.stringify(host)} without API keys: set API_KEYS or ` +
        "--api-keys-file, listen on 127.0.0.1, or pass --insecure to accept any client",
    );
  }
  const rateLimiter =
    config.rateLimitRps > 0 || config.rateLimitEps > 0
      ? createRateLimiter({
          requestsPerSecond: config.rateLimitRps,
          eventsPerSecond: config.rateLimitEps,
        })
      : undefined;
  return {
    apiKeys,
    authAll: config.authAll,
    insecure: config.insecure,
    ...(tls === undefined ? {} : { tls }),
    maxMessageBytes: config.maxMessageBytes,
    maxStreams: config.maxStreams,
    idleTimeoutMs: config.idleTimeoutS * 1000,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxConnectionBodyBytes: config.maxConnectionBodyBytes,
    maxProcessBodyBytes: config.maxBodyBytes,
    bodyTimeoutMs: config.bodyTimeoutS * 1000,
    headerTimeoutMs: config.headerTimeoutS * 1000,
    ...(rateLimiter === undefined ? {} : { rateLimiter }),
  };
}

/**
 * pino `redact` settings for every logger the server makes: an
 * `authorization` value (header or metadata) is never written, wherever it
 * sits in a logged object.
 */
export const LOG_REDACT = {
  paths: [
    "authorization",
    "headers.authorization",
    "*.authorization",
    "*.headers.authorization",
    "*.*.headers.authorization",
    "apiKey",
    "*.apiKey",
  ],
  censor: "[redacted]",
};
