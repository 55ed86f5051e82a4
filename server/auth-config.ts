import { type ApiKeys, isLoopbackHost, loadApiKeys } from "./auth.js";
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
} as const;

/** Usage text of the security flags. */
export const SECURITY_USAGE =
  "[--api-keys-file FILE] [--auth-all] [--insecure] [--tls-cert PEM --tls-key PEM [--client-ca PEM]] " +
  "[--max-message-bytes N] [--max-streams N] [--rate-limit-rps R] [--rate-limit-eps R] [--idle-timeout S]";

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
  return {
    apiKeysEnv: env.API_KEYS || undefined,
    apiKeysFile: str("api-keys-file"),
    authAll: values["auth-all"] === true,
    insecure: values.insecure === true,
    tlsCert,
    tlsKey,
    clientCa,
    maxMessageBytes: num(
      "max-message-bytes",
      1024,
      64 * 1024 * 1024,
      DEFAULT_MAX_MESSAGE_BYTES,
      true,
    ),
    maxStreams: num("max-streams", 1, 10_000, DEFAULT_MAX_STREAMS, true),
    rateLimitRps: num("rate-limit-rps", 0, 1e9, 0, false),
    rateLimitEps: num("rate-limit-eps", 0, 1e12, 0, false),
    idleTimeoutS: num("idle-timeout", 1, 86_400, DEFAULT_IDLE_TIMEOUT_MS / 1000, false),
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
