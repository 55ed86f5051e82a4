import { Code, ConnectError } from "@connectrpc/connect";
import type { EventViolation } from "../telemetry/validate.js";

/**
 * The one mapping from our failures to Connect codes (see STYLE.md, server/).
 * Handlers throw what these functions return; anything else that escapes a
 * handler is a bug, which Connect turns into `internal` ("internal error")
 * while our logging interceptor logs the cause.
 */

/** Largest number of events one `StreamScoreRequest` may carry. */
export const MAX_BATCH_EVENTS = 1000;

/** Longest `request_id` we accept, in characters. */
export const MAX_REQUEST_ID_LENGTH = 128;

/** A rule broken by a request as a whole rather than by one of its events. */
export interface RequestViolation {
  /** Proto field name, for example `events`. */
  field: string;
  message: string;
}

/**
 * An event broke a field rule. `invalid_argument`: the event is wrong
 * whatever the server's state, so retrying it cannot help.
 */
export function eventViolationError(violation: EventViolation, prefix = "event"): ConnectError {
  return new ConnectError(`${prefix}.${violation.message}`, Code.InvalidArgument);
}

/** A required field is missing. `invalid_argument`, as for any malformed request. */
export function missingFieldError(field: string): ConnectError {
  return new ConnectError(`${field} is required`, Code.InvalidArgument);
}

/** A whole stream request broke a rule. `invalid_argument`: resending it unchanged cannot help. */
export function requestViolationError(violation: RequestViolation): ConnectError {
  return new ConnectError(violation.message, Code.InvalidArgument);
}

/**
 * No model is loaded yet, or one is being swapped in. `unavailable`: the
 * condition is transient, and clients back off and retry.
 */
export function noModelError(): ConnectError {
  return new ConnectError("no model loaded yet", Code.Unavailable);
}

/**
 * The server is draining for shutdown. `unavailable`: the client should
 * reconnect (to this or another instance) and resend what was not answered.
 */
export function shuttingDownError(): ConnectError {
  return new ConnectError("server is shutting down", Code.Unavailable);
}

/**
 * The caller sent no API key, or one we do not hold. `unauthenticated`: the
 * request lacks valid credentials; the message never echoes the key.
 */
export function unauthenticatedError(reason: "missing" | "invalid"): ConnectError {
  return new ConnectError(
    reason === "missing"
      ? "missing api key: send 'authorization: Bearer <key>'"
      : "invalid api key",
    Code.Unauthenticated,
  );
}

/**
 * `Feedback` on a server started without alert outputs.
 * `failed_precondition`: the server is not set up for it; retrying won't help.
 */
export function noAlertsError(): ConnectError {
  return new ConnectError(
    "alerts are off: start the server with --alert-file, --alert-webhook or --alert-syslog",
    Code.FailedPrecondition,
  );
}

/**
 * A `Feedback` the alerts room refused: a bad field (`invalid_argument`), an
 * alert id this server does not know (`not_found`), or a request the server
 * is not set up for, such as a rule without a suppression file
 * (`failed_precondition`).
 */
export function feedbackError(
  kind: "invalid_argument" | "not_found" | "failed_precondition",
  message: string,
): ConnectError {
  const code =
    kind === "invalid_argument"
      ? Code.InvalidArgument
      : kind === "not_found"
        ? Code.NotFound
        : Code.FailedPrecondition;
  return new ConnectError(message, code);
}

/**
 * The caller went over its rate limit. `resource_exhausted`: a per-client
 * quota ran out; the client backs off (at least `retryAfterMs`) and retries.
 */
export function rateLimitedError(what: string, retryAfterMs: number): ConnectError {
  return new ConnectError(
    `rate limit exceeded: ${what}; retry in ${Math.ceil(retryAfterMs)} ms`,
    Code.ResourceExhausted,
  );
}

/**
 * Checks the parts of a `StreamScoreRequest` that concern the whole batch:
 * 1 to {@link MAX_BATCH_EVENTS} events and a `request_id` of at most
 * {@link MAX_REQUEST_ID_LENGTH} characters.
 *
 * @returns the first rule broken, or `undefined`.
 */
export function checkBatch(requestId: string, eventCount: number): RequestViolation | undefined {
  if (requestId.length > MAX_REQUEST_ID_LENGTH) {
    return {
      field: "request_id",
      message: `request_id has ${requestId.length} characters, at most ${MAX_REQUEST_ID_LENGTH} allowed`,
    };
  }
  if (eventCount === 0) {
    return { field: "events", message: "events is empty, 1 to 1000 events required" };
  }
  if (eventCount > MAX_BATCH_EVENTS) {
    return {
      field: "events",
      message: `events has ${eventCount} events, at most ${MAX_BATCH_EVENTS} allowed`,
    };
  }
  return undefined;
}

/** Wire name of `invalid_argument`, as sent in `EventError.code`. */
export const INVALID_ARGUMENT = "invalid_argument";

// gRPC wire errors of the fast path (grpc-fast-path.ts). Each answers what
// connect-es's gRPC handler answers for the same input, message included, so
// a client cannot tell which path served it.

/**
 * The request message is not valid protobuf. `internal` with "parse binary:
 * …", as connect-es answers (`createBinarySerialization`) and the fuzz tests pin.
 */
export function decodeError(cause: unknown): ConnectError {
  const m = cause instanceof Error ? cause.message : String(cause);
  return new ConnectError(`parse binary: ${m}`, Code.Internal);
}

/** A message is over the configured size. `resource_exhausted`, connect-es's `assertReadMaxBytes`. */
export function messageTooLargeError(size: number, maxBytes: number): ConnectError {
  return new ConnectError(
    `message size ${size} is larger than configured readMaxBytes ${maxBytes}`,
    Code.ResourceExhausted,
  );
}

/** The body ended inside a message. `invalid_argument`: a malformed request. */
export function incompleteEnvelopeError(): ConnectError {
  return new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
}

/**
 * A message is flagged compressed though the client announced no
 * `grpc-encoding`. `internal`, as connect-es answers.
 */
export function unexpectedCompressionError(): ConnectError {
  return new ConnectError(
    "received compressed envelope, but do not know how to decompress",
    Code.Internal,
  );
}

/** A unary call carried no message, or more than one. `unimplemented`, as connect-es answers. */
export function unaryMessageCountError(problem: "missing" | "extra"): ConnectError {
  return new ConnectError(
    problem === "missing"
      ? "protocol error: missing input message for unary method"
      : "protocol error: received extra input message for unary method",
    Code.Unimplemented,
  );
}

/** The client's `grpc-timeout` passed. `deadline_exceeded`, connect-es's wording. */
export function deadlineError(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

/**
 * The client reset the stream. `canceled` for CANCEL and NO_ERROR; other
 * HTTP/2 codes as connect-node maps them (`connectErrorFromH2ResetCode`).
 * Only our log sees it: the client is gone.
 */
export function streamResetError(rstCode: number): ConnectError {
  const message = `http/2 stream closed with error code 0x${rstCode.toString(16)}`;
  switch (rstCode) {
    case 0x7: // REFUSED_STREAM
      return new ConnectError(message, Code.Unavailable);
    case 0xb: // ENHANCE_YOUR_CALM
      return new ConnectError(message, Code.ResourceExhausted);
    case 0x0:
    case 0x5: // STREAM_CLOSED
    case 0x8: // CANCEL
      return new ConnectError(message, Code.Canceled);
    default:
      return new ConnectError(message, Code.Internal);
  }
}

/**
 * What the client sees for anything a handler threw: a `ConnectError` as is;
 * anything else is a bug and becomes `internal` "internal error", the
 * original kept as `cause` for our log, as at connect-es's handler boundary.
 */
export function toRpcError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) {
    return reason;
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
}

/**
 * The `grpc-status` trailer value for an error. Connect's `Code` numbers are
 * the gRPC status codes (1 canceled … 16 unauthenticated), so this is the number.
 */
export function grpcStatus(error: ConnectError): string {
  return String(error.code);
}
