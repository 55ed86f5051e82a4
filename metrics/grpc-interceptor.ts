import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type GrpcCall, type GrpcMetrics, grpcTypeOf } from "./grpc-metrics.js";

/**
 * A Connect interceptor feeding {@link GrpcMetrics}: a call starts when it
 * reaches the interceptors, each request message the handler reads and each
 * response message it yields is counted, and the call ends with its code (a
 * stream the client cancelled ends `Canceled`; an error that is not a
 * `ConnectError` is `Internal`, as Connect answers it). Put it first, so
 * calls the auth interceptor rejects are counted too.
 */
export function createGrpcInterceptorFor(metrics: GrpcMetrics): Interceptor {
  return (next) => async (req) => {
    const call = metrics.start(
      req.service.typeName,
      req.method.name,
      grpcTypeOf(req.method.methodKind),
    );
    let res: Awaited<ReturnType<typeof next>>;
    try {
      if (req.stream) {
        res = await next({ ...req, message: countReceived(req.message, call) });
      } else {
        call.received();
        res = await next(req);
      }
    } catch (e) {
      call.end(codeOf(e));
      throw e;
    }
    if (!res.stream) {
      call.sent();
      call.end(undefined);
      return res;
    }
    return { ...res, message: countSent(res.message, call, req.signal) };
  };
}

function codeOf(e: unknown): Code {
  return e instanceof ConnectError ? e.code : Code.Internal;
}

async function* countReceived<T>(messages: AsyncIterable<T>, call: GrpcCall) {
  for await (const m of messages) {
    call.received();
    yield m;
  }
}

async function* countSent<T>(messages: AsyncIterable<T>, call: GrpcCall, signal: AbortSignal) {
  let error: unknown;
  try {
    for await (const m of messages) {
      call.sent();
      yield m;
    }
  } catch (e) {
    error = e;
    throw e;
  } finally {
    // A stream stopped with return() (client cancelled, deadline) is not OK.
    if (error === undefined && signal.aborted) {
      call.end(ConnectError.from(signal.reason, Code.Canceled).code);
    } else {
      call.end(error === undefined ? undefined : codeOf(error));
    }
  }
}
