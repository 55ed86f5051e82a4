import { type DescFile, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";

/**
 * A reflection answer, shaped like `ServerReflectionResponse.message_response`
 * of both `grpc.reflection.v1` and `v1alpha` (their messages are identical).
 */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** A reflection request, shaped like `ServerReflectionRequest.message_request` of both versions. */
export type ReflectionQuestion =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/** A failed lookup, carrying the gRPC status code to put in `ErrorResponse` (as grpc-node's `ReflectionError`). */
export class ReflectionError extends Error {
  override name = "ReflectionError";
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

/** Answers reflection questions about a fixed set of files. */
export interface ReflectionIndex {
  /** Answers one request; lookup failures become an `errorResponse`, never a thrown error. */
  answer(question: ReflectionQuestion): ReflectionAnswer;
}

/**
 * Builds the lookup tables for server reflection from generated file
 * descriptors (`file_netanomaly_v1_scoring_service`, …). Files answer with
 * themselves followed by all their transitive imports, so a client such as
 * grpcurl can build the schema from one answer.
 *
 * @param files files declaring the served services; their imports are added.
 * @param serviceNames full names of the services to list.
 */
export function createReflectionIndex(
  files: readonly DescFile[],
  serviceNames: readonly string[],
): ReflectionIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const messages = new Set<string>();
  const addFile = (file: DescFile) => {
    if (byName.has(file.proto.name)) {
      return;
    }
    byName.set(file.proto.name, file);
    for (const dep of file.dependencies) {
      addFile(dep);
    }
    for (const type of nestedTypes(file)) {
      bySymbol.set(type.typeName, file);
      switch (type.kind) {
        case "message":
          messages.add(type.typeName);
          for (const field of type.fields) {
            bySymbol.set(`${type.typeName}.${field.name}`, file);
          }
          for (const oneof of type.oneofs) {
            bySymbol.set(`${type.typeName}.${oneof.name}`, file);
          }
          break;
        case "enum": {
          // Enum values are scoped like siblings of their enum (protobuf language spec).
          const scope = type.typeName.slice(0, type.typeName.length - type.name.length);
          for (const value of type.values) {
            bySymbol.set(`${scope}${value.name}`, file);
          }
          break;
        }
        case "service":
          for (const method of type.methods) {
            bySymbol.set(`${type.typeName}.${method.name}`, file);
          }
          break;
        case "extension":
          break;
      }
    }
  };
  for (const file of files) {
    addFile(file);
  }
  const encoded = new Map<string, Uint8Array>();
  const encode = (file: DescFile) => {
    let bytes = encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file.proto.name, bytes);
    }
    return bytes;
  };
  const withDependencies = (file: DescFile): ReflectionAnswer => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) {
        return;
      }
      seen.add(f.proto.name);
      out.push(encode(f));
      for (const dep of f.dependencies) {
        visit(dep);
      }
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
  };
  const lookup = (question: ReflectionQuestion): ReflectionAnswer => {
    switch (question.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: serviceNames.map((name) => ({ name })) },
        };
      case "fileByFilename": {
        const file = byName.get(question.value);
        if (file === undefined) {
          throw new ReflectionError(Code.NotFound, `file not found: ${question.value}`);
        }
        return withDependencies(file);
      }
      case "fileContainingSymbol": {
        const file = bySymbol.get(question.value.replace(/^\./, ""));
        if (file === undefined) {
          throw new ReflectionError(Code.NotFound, `symbol not found: ${question.value}`);
        }
        return withDependencies(file);
      }
      case "fileContainingExtension":
        // We declare no extensions.
        throw new ReflectionError(
          Code.NotFound,
          `extension not found: ${question.value.containingType}(${question.value.extensionNumber})`,
        );
      case "allExtensionNumbersOfType": {
        if (!messages.has(question.value)) {
          throw new ReflectionError(Code.NotFound, `message type not found: ${question.value}`);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: question.value, extensionNumber: [] },
        };
      }
      case undefined:
        throw new ReflectionError(Code.InvalidArgument, "message_request is not set");
    }
  };
  return {
    answer(question) {
      try {
        return lookup(question);
      } catch (e) {
        if (e instanceof ReflectionError) {
          return { case: "errorResponse", value: { errorCode: e.code, errorMessage: e.message } };
        }
        throw e;
      }
    },
  };
}
