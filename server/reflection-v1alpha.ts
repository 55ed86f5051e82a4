import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ServerReflection,
  ServerReflectionResponseSchema,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { ReflectionIndex } from "./reflection-index.js";

/**
 * `grpc.reflection.v1alpha.ServerReflection`: answers each request of the stream
 * in order, errors included (as `ErrorResponse`), until the client closes.
 */
export function createReflectionV1alpha(
  index: ReflectionIndex,
): ServiceImpl<typeof ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: index.answer(req.messageRequest),
        });
      }
    },
  };
}
