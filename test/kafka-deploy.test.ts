/**
 * The Kafka scorer's deployment: the Kubernetes Deployment and its KEDA
 * ScaledObject pass kubeconform -strict offline (the Deployment against
 * kubernetes-validate's schemas, the ScaledObject against the CRD that KEDA's
 * Go module ships, both installed by scripts/install-tools.sh), agree with each
 * other, and compose's "kafka" profile is valid and wired the same way.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Crd, crdJsonSchema, crdSchemaName } from "../deploy/crd-schema.js";
import { writeSchemas } from "../deploy/kubeconform-schemas.js";
import { goTool, parseYaml, ROOT, runProcess, TOOLS_VENV } from "./deploy-harness.js";

const K8S_VERSION = "1.35.0";
/** The KEDA release whose CRDs scripts/install-tools.sh downloads (its Go module). */
const KEDA_MODULE = "github.com/kedacore/keda/v2@v2.18.1";
const DIR = join(ROOT, "deploy/k8s-kafka");
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below.
type Manifest = any;
let schemas = "";
let docs: Manifest[] = [];

beforeAll(async () => {
  const site = await runProcess(join(TOOLS_VENV, "bin/python"), [
    "-c",
    "import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))",
  ]);
  expect(site.stderr).toBe("");
  schemas = mkdtempSync(join(tmpdir(), "netanomaly-k8s-kafka-schemas-"));
  const texts = files.map((f) => readFileSync(join(DIR, f), "utf8"));
  docs = (await Promise.all(texts.map(parseYaml))).flat();
  // Built-in kinds from kubernetes-validate; the ScaledObject from KEDA's CRD.
  writeSchemas(
    join(site.stdout.trim(), "kubernetes-json-schema", `v${K8S_VERSION}-local-strict`),
    schemas,
    texts.filter((t) => !/^apiVersion: keda\.sh\//m.test(t)),
  );
  const modcache = (await runProcess("go", ["env", "GOMODCACHE"])).stdout.trim();
  const [path, version] = KEDA_MODULE.split("@") as [string, string];
  const crdFile = join(
    modcache,
    `${path}@${version}`,
    "config/crd/bases/keda.sh_scaledobjects.yaml",
  );
  expect(existsSync(crdFile), `${crdFile} (scripts/install-tools.sh downloads it)`).toBe(true);
  const [crd] = (await parseYaml(readFileSync(crdFile, "utf8"))) as [Crd];
  writeFileSync(
    join(schemas, `${crdSchemaName(crd, "v1alpha1")}.json`),
    JSON.stringify(crdJsonSchema(crd, "v1alpha1")),
  );
});

afterAll(() => {
  if (schemas !== "") rmSync(schemas, { recursive: true, force: true });
});

function kubeconform(target: string) {
  return goTool("kubeconform").then((bin) =>
    runProcess(bin, [
      "-strict",
      "-summary",
      "-schema-location",
      `${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      target,
    ]),
  );
}

function find(kind: string): Manifest {
  const matches = docs.filter((d) => d.kind === kind);
  expect(matches, kind).toHaveLength(1);
  return matches[0];
}

describe("deploy/k8s-kafka", () => {
  it("passes kubeconform -strict offline, the ScaledObject against KEDA's CRD", async () => {
    const run = await kubeconform(DIR);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain(`Valid: ${docs.length}, Invalid: 0, Errors: 0, Skipped: 0`);
    expect(run.code).toBe(0);
    expect(docs.map((d) => d.kind).sort()).toEqual(["Deployment", "ScaledObject"]);
  });

  it("rejects a misspelt ScaledObject field, so the CRD schema really ran", async () => {
    const bad = join(schemas, "bad.yaml");
    const text = readFileSync(join(DIR, "scorer-scaledobject.yaml"), "utf8").replace(
      "minReplicaCount: 1",
      "minReplicaCount: 1\n  maxReplicaCout: 3",
    );
    writeFileSync(bad, text);
    const run = await kubeconform(bad);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/maxReplicaCout/);
  });

  it("scales the scorer's own Deployment on its own group's lag, at most one pod per partition", () => {
    const deployment = find("Deployment");
    const scaled = find("ScaledObject");
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(args.slice(0, 2)).toEqual(["node", "dist/kafka/main.js"]);
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    const [trigger] = scaled.spec.triggers;
    expect(trigger.type).toBe("kafka");
    expect(trigger.metadata.consumerGroup).toBe(flag("--group"));
    expect(trigger.metadata.topic).toBe(flag("--in"));
    const env = deployment.spec.template.spec.containers[0].env;
    const brokers = env.find((e: { name: string }) => e.name === "NETANOMALY_KAFKA_BROKERS");
    expect(trigger.metadata.bootstrapServers).toBe(brokers.value);
    expect(scaled.spec.maxReplicaCount).toBeLessThanOrEqual(6);
    expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
  });
});

describe("docker-compose --profile kafka", () => {
  it("is valid and runs the official broker image, scorers in one group and a Kafka agent", async () => {
    const env = { ...process.env, NETANOMALY_API_KEY: "test-key-1" };
    const run = await runProcess(
      "docker-compose",
      ["--profile", "kafka", "-f", "docker-compose.yml", "config"],
      { cwd: ROOT, env },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const [config] = (await parseYaml(run.stdout)) as [{ services: Record<string, Manifest> }];
    const { kafka, scorer } = config.services;
    const agent = config.services["agent-kafka"];
    expect(kafka.image).toMatch(/^apache\/kafka:/);
    expect(kafka.environment.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(scorer.command.slice(0, 2)).toEqual(["node", "dist/kafka/main.js"]);
    expect(scorer.command).toEqual(expect.arrayContaining(["--brokers", "kafka:9092", "--group"]));
    expect(agent.command).toEqual(
      expect.arrayContaining([
        "--sink",
        "kafka",
        "--brokers",
        "kafka:9092",
        "--topic",
        "telemetry",
      ]),
    );
    expect(scorer.command[scorer.command.indexOf("--in") + 1]).toBe("telemetry");
  });
});
