import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createReflectionIndex } from "./reflection-index.js";
import { createReflectionV1 } from "./reflection-v1.js";
import { createReflectionV1alpha } from "./reflection-v1alpha.js";

/**
 * Registers gRPC server reflection, versions `v1` and `v1alpha`, describing
 * the given services plus the two reflection services themselves.
 *
 * @remarks With reflection, `grpcurl -plaintext HOST:PORT list` and
 * `buf curl --protocol grpc --http2-prior-knowledge` work without proto files.
 * @see https://github.com/grpc/grpc/blob/master/doc/server-reflection.md
 * @privateRemarks One index serves both versions, as in grpc-node's
 * `grpc-reflection/src/service.ts`; the two versions differ only in package.
 */
export function registerReflection(
  router: ConnectRouter,
  services: readonly { typeName: string; file: DescFile }[],
): void {
  const all = [...services, ServerReflectionV1, ServerReflectionV1alpha];
  const index = createReflectionIndex(
    all.map((s) => s.file),
    all.map((s) => s.typeName),
  );
  router.service(ServerReflectionV1, createReflectionV1(index));
  router.service(ServerReflectionV1alpha, createReflectionV1alpha(index));
}
