import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

// How gRPC statuses and failures reach the agent: as the `ConnectError`s
// connect-node's transport gave, so the agent reports and retries them as before.

/** The gRPC code for an HTTP status other than 200 (gRPC's http-grpc-status-mapping.md). */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/**
 * A failure of the connection or stream as connect-node reports it
 * (`connectErrorFromNodeReason`): a refused, unresolvable or timed-out
 * connection is `unavailable` (worth a retry), a reset one `aborted`, the
 * rest `internal`; the original error is kept as `cause`.
 */
export function errorFromNodeReason(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  // The codes along the `cause` chain: a stream cancelled because its
  // connection failed (ERR_HTTP2_STREAM_CANCEL) has the failure as its cause.
  const codes: string[] = [];
  for (let r = reason; r instanceof Error && codes.length < 8; r = r.cause) {
    codes.push(nodeErrorCode(r));
  }
  const has = (...names: string[]) => codes.some((c) => names.includes(c));
  let code = Code.Internal;
  if (
    has(
      "ERR_STREAM_WRITE_AFTER_END",
      "ERR_STREAM_DESTROYED",
      "ERR_HTTP2_INVALID_STREAM",
      "ECONNRESET",
    )
  ) {
    code = Code.Aborted;
  } else if (has("ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED")) {
    code = Code.Unavailable;
  }
  const error = ConnectError.from(reason, code);
  if (error !== reason) error.cause = reason;
  return error;
}

/** The `code` of a Node error (`ECONNREFUSED`), or "". */
export function nodeErrorCode(reason: unknown): string {
  return reason instanceof Error && "code" in reason && typeof reason.code === "string"
    ? reason.code
    : "";
}

/** The error for a stream reset with HTTP/2 code `rst`, as connect-node maps it; undefined for NO_ERROR and unmapped codes. */
export function errorFromH2ResetCode(rst: number): ConnectError | undefined {
  const c = http2.constants;
  const name: Record<number, [string, Code]> = {
    [c.NGHTTP2_PROTOCOL_ERROR]: ["PROTOCOL_ERROR", Code.Internal],
    [c.NGHTTP2_INTERNAL_ERROR]: ["INTERNAL_ERROR", Code.Internal],
    [c.NGHTTP2_FLOW_CONTROL_ERROR]: ["FLOW_CONTROL_ERROR", Code.Internal],
    [c.NGHTTP2_SETTINGS_TIMEOUT]: ["SETTINGS_TIMEOUT", Code.Internal],
    [c.NGHTTP2_FRAME_SIZE_ERROR]: ["FRAME_SIZE_ERROR", Code.Internal],
    [c.NGHTTP2_COMPRESSION_ERROR]: ["COMPRESSION_ERROR", Code.Internal],
    [c.NGHTTP2_CONNECT_ERROR]: ["CONNECT_ERROR", Code.Internal],
    [c.NGHTTP2_REFUSED_STREAM]: ["REFUSED_STREAM", Code.Unavailable],
    [c.NGHTTP2_CANCEL]: ["CANCEL", Code.Canceled],
    [c.NGHTTP2_ENHANCE_YOUR_CALM]: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
    [c.NGHTTP2_INADEQUATE_SECURITY]: ["INADEQUATE_SECURITY", Code.PermissionDenied],
    [c.NGHTTP2_HTTP_1_1_REQUIRED]: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
  };
  const found = name[rst];
  if (found === undefined) return undefined;
  return new ConnectError(
    `http/2 stream closed with error code ${found[0]} (0x${rst.toString(16)})`,
    found[1],
  );
}
