import { readFileSync } from "node:fs";
import * as http2 from "node:http2";

/** PEM contents for a TLS listener. */
export interface TlsCredentials {
  /** Certificate chain, leaf first. */
  cert: Buffer;
  key: Buffer;
  /** CA bundle client certificates must chain to; when set, clients must present one (mTLS). */
  clientCa?: Buffer;
}

/** File paths of {@link TlsCredentials}, as given on the command line. */
export interface TlsFiles {
  cert: string;
  key: string;
  clientCa?: string;
}

/**
 * Reads the PEM files named by `--tls-cert`, `--tls-key` and `--client-ca`.
 *
 * @throws Error naming the flag and file that could not be read.
 */
export function loadTlsCredentials(files: TlsFiles): TlsCredentials {
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return {
    cert: read("--tls-cert", files.cert),
    key: read("--tls-key", files.key),
    ...(files.clientCa === undefined ? {} : { clientCa: read("--client-ca", files.clientCa) }),
  };
}

/** A TLS handshake that takes longer than this is dropped, in milliseconds. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Creates the TLS listener: HTTP/2 (ALPN `h2`) and HTTP/1.1 (ALPN
 * `http/1.1`, or no ALPN) on one port, TLS 1.2 or later. With `clientCa`
 * the handshake fails unless the client presents a certificate that chains
 * to it. Does not listen.
 *
 * @param settings HTTP/2 settings sent to every client (e.g. `maxConcurrentStreams`).
 */
export function createTlsListener(
  credentials: TlsCredentials,
  settings: http2.Settings,
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): http2.Http2SecureServer {
  const mutual = credentials.clientCa !== undefined;
  return http2.createSecureServer(
    {
      cert: credentials.cert,
      key: credentials.key,
      ...(mutual ? { ca: credentials.clientCa } : {}),
      requestCert: mutual,
      rejectUnauthorized: mutual,
      allowHTTP1: true,
      minVersion: "TLSv1.2",
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
      settings,
    },
    handler,
  );
}
