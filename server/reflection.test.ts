import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  ExtensionRequestSchema,
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { inMemoryServer } from "./testdata/harness.js";

type Question = ServerReflectionRequest["messageRequest"];

/** Sends the questions on one stream and collects the answers. */
async function ask(...questions: Question[]): Promise<ServerReflectionResponse[]> {
  const { transport } = inMemoryServer();
  const client = createClient(ServerReflection, transport);
  async function* requests() {
    for (const messageRequest of questions) {
      yield create(ServerReflectionRequestSchema, { host: "localhost", messageRequest });
    }
  }
  const answers: ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(requests())) {
    answers.push(res);
  }
  return answers;
}

/** File names of a file descriptor answer, in order. */
function fileNames(res: ServerReflectionResponse | undefined): string[] {
  if (res?.messageResponse.case !== "fileDescriptorResponse") {
    throw new Error(`expected file descriptors, got ${res?.messageResponse.case}`);
  }
  return res.messageResponse.value.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
}

function errorCode(res: ServerReflectionResponse | undefined): number | undefined {
  return res?.messageResponse.case === "errorResponse"
    ? res.messageResponse.value.errorCode
    : undefined;
}

describe("grpc.reflection.v1.ServerReflection.ServerReflectionInfo", () => {
  it("lists the scoring, health and reflection services", async () => {
    const [res] = await ask({ case: "listServices", value: "" });
    expect(res?.messageResponse.case).toBe("listServicesResponse");
    const names =
      res?.messageResponse.case === "listServicesResponse"
        ? res.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names.sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "netanomaly.v1.ScoringService",
    ]);
  });

  it("answers file_containing_symbol for a service with the file and its imports", async () => {
    const [res] = await ask({
      case: "fileContainingSymbol",
      value: "netanomaly.v1.ScoringService",
    });
    expect(fileNames(res)).toEqual([
      "netanomaly/v1/scoring_service.proto",
      "google/protobuf/timestamp.proto",
      "netanomaly/v1/telemetry.proto",
    ]);
    const file = fromBinary(
      FileDescriptorProtoSchema,
      res?.messageResponse.case === "fileDescriptorResponse"
        ? (res.messageResponse.value.fileDescriptorProto[0] as Uint8Array)
        : new Uint8Array(),
    );
    expect(file.service.map((s) => s.name)).toEqual(["ScoringService"]);
    expect(file.dependency).toEqual([
      "google/protobuf/timestamp.proto",
      "netanomaly/v1/telemetry.proto",
    ]);
  });

  it("finds methods, messages, nested enums and enum values", async () => {
    const answers = await ask(
      { case: "fileContainingSymbol", value: "netanomaly.v1.ScoringService.StreamScore" },
      { case: "fileContainingSymbol", value: "netanomaly.v1.NetworkEvent" },
      { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" },
      { case: "fileContainingSymbol", value: "netanomaly.v1.VERDICT_ANOMALOUS" },
      { case: "fileContainingSymbol", value: "grpc.reflection.v1alpha.ServerReflection" },
    );
    expect(answers.map((a) => fileNames(a)[0])).toEqual([
      "netanomaly/v1/scoring_service.proto",
      "netanomaly/v1/telemetry.proto",
      "grpc/health/v1/health.proto",
      "netanomaly/v1/telemetry.proto",
      "grpc/reflection/v1alpha/reflection.proto",
    ]);
  });

  it("answers file_by_filename with the file and its dependency", async () => {
    const [res] = await ask({ case: "fileByFilename", value: "netanomaly/v1/telemetry.proto" });
    expect(fileNames(res)).toEqual([
      "netanomaly/v1/telemetry.proto",
      "google/protobuf/timestamp.proto",
    ]);
  });

  it("answers unknown names with not_found in the stream, and the stream goes on", async () => {
    const answers = await ask(
      { case: "fileContainingSymbol", value: "netanomaly.v1.NoSuchThing" },
      { case: "fileByFilename", value: "no/such.proto" },
      {
        case: "fileContainingExtension",
        value: create(ExtensionRequestSchema, {
          containingType: "netanomaly.v1.NetworkEvent",
          extensionNumber: 100,
        }),
      },
      { case: "listServices", value: "" },
    );
    expect(answers.map(errorCode)).toEqual([
      Code.NotFound,
      Code.NotFound,
      Code.NotFound,
      undefined,
    ]);
    expect(answers[3]?.messageResponse.case).toBe("listServicesResponse");
  });

  it("answers all_extension_numbers_of_type with an empty list for a known message", async () => {
    const [known, unknown] = await ask(
      { case: "allExtensionNumbersOfType", value: "netanomaly.v1.NetworkEvent" },
      { case: "allExtensionNumbersOfType", value: "netanomaly.v1.Nope" },
    );
    expect(known?.messageResponse).toEqual({
      case: "allExtensionNumbersResponse",
      value: expect.objectContaining({
        baseTypeName: "netanomaly.v1.NetworkEvent",
        extensionNumber: [],
      }),
    });
    expect(errorCode(unknown)).toBe(Code.NotFound);
  });

  it("echoes the host and the original request", async () => {
    const [res] = await ask({ case: "listServices", value: "*" });
    expect(res?.validHost).toBe("localhost");
    expect(res?.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
  });
});

describe("grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo", () => {
  it("answers file_containing_symbol like v1", async () => {
    const { transport } = inMemoryServer();
    const client = createClient(ServerReflectionV1alpha, transport);
    async function* one() {
      yield {
        host: "",
        messageRequest: {
          case: "fileContainingSymbol" as const,
          value: "netanomaly.v1.ScoringService",
        },
      };
    }
    const answers = [];
    for await (const res of client.serverReflectionInfo(one())) {
      answers.push(res);
    }
    expect(answers).toHaveLength(1);
    expect(answers[0]?.messageResponse.case).toBe("fileDescriptorResponse");
  });
});
