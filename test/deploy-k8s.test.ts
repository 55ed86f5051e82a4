import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSchemas } from "../deploy/kubeconform-schemas.js";
import { goTool, parseYaml, ROOT, runProcess, TOOLS_VENV } from "./deploy-harness.js";

/** Kubernetes version the manifests are validated against (kubernetes-validate ships 1.25–1.37). */
const K8S_VERSION = "1.35.0";
const K8S_DIR = join(ROOT, "deploy/k8s");
const manifests = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below.
type Manifest = any;

let schemas: string;
let docs: Manifest[];

beforeAll(async () => {
  // The schemas come from the PyPI package kubernetes-validate (installed by
  // scripts/install-tools.sh), made standalone so kubeconform needs no network.
  const site = await runProcess(join(TOOLS_VENV, "bin/python"), [
    "-c",
    "import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))",
  ]);
  expect(site.stderr).toBe("");
  const schemaDir = join(
    site.stdout.trim(),
    "kubernetes-json-schema",
    `v${K8S_VERSION}-local-strict`,
  );
  schemas = mkdtempSync(join(tmpdir(), "netanomaly-k8s-schemas-"));
  const texts = manifests.map((f) => readFileSync(join(K8S_DIR, f), "utf8"));
  writeSchemas(schemaDir, schemas, texts);
  docs = (await Promise.all(texts.map(parseYaml))).flat();
});

afterAll(() => {
  if (schemas !== undefined) rmSync(schemas, { recursive: true, force: true });
});

/** The one document of `kind` (and `name`, when several share the kind). */
function find(kind: string, name?: string): Manifest {
  const matches = docs.filter(
    (d) => d.kind === kind && (name === undefined || d.metadata.name === name),
  );
  expect(matches, `${kind} ${name ?? ""}`).toHaveLength(1);
  return matches[0];
}

describe("deploy/k8s", () => {
  it("passes kubeconform -strict against offline schemas", async () => {
    const run = await runProcess(await goTool("kubeconform"), [
      "-strict",
      "-summary",
      "-schema-location",
      `${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      K8S_DIR,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Valid: ${docs.length}, Invalid: 0, Errors: 0, Skipped: 0`);
  });

  it("rejects an unknown field, so strict validation really ran", async () => {
    const bad = join(schemas, "bad.yaml");
    const text = readFileSync(join(K8S_DIR, "pdb.yaml"), "utf8").replace(
      "minAvailable: 1",
      "minAvailable: 1\n  maxUnavailabel: 1",
    );
    writeFileSync(bad, text);
    const run = await runProcess(await goTool("kubeconform"), [
      "-strict",
      "-schema-location",
      `${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      bad,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/additional properties 'maxUnavailabel' not allowed/);
  });

  it("probes the server with native gRPC probes, readiness on netanomaly.v1.ScoringService", () => {
    const container = find("Deployment").spec.template.spec.containers[0];
    expect(container.livenessProbe.grpc).toEqual({ port: 50051 });
    expect(container.startupProbe.grpc).toEqual({ port: 50051 });
    expect(container.readinessProbe.grpc).toEqual({
      port: 50051,
      service: "netanomaly.v1.ScoringService",
    });
    expect(container.resources).toEqual({
      requests: { cpu: "250m", memory: "128Mi" },
      limits: { cpu: "1", memory: "256Mi" },
    });
    expect(container.envFrom).toEqual([
      { configMapRef: { name: find("ConfigMap").metadata.name } },
    ]);
    // It binds 0.0.0.0, so it needs keys (no key is built in): from a Secret the operator creates.
    expect(container.args).toContain("0.0.0.0");
    expect(container.env).toEqual([
      {
        name: "API_KEYS",
        valueFrom: { secretKeyRef: { name: "netanomaly-api-keys", key: "api-keys" } },
      },
    ]);
  });

  it("runs as non-root with a read-only root filesystem and no capabilities", () => {
    const pod = find("Deployment").spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("offers a ClusterIP and a headless Service selecting the Deployment's pods", () => {
    const labels = find("Deployment").spec.template.metadata.labels;
    const clusterIp = find("Service", "netanomaly");
    const headless = find("Service", "netanomaly-headless");
    expect(headless.spec.clusterIP).toBe("None");
    for (const svc of [clusterIp, headless]) {
      expect(svc.spec.selector).toEqual(labels);
      expect(svc.spec.ports[0]).toMatchObject({ port: 50051, appProtocol: "kubernetes.io/h2c" });
    }
  });

  it("autoscales on CPU and keeps one pod through disruptions", () => {
    const hpa = find("HorizontalPodAutoscaler");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "netanomaly",
    });
    expect(hpa.spec.metrics[0].resource.name).toBe("cpu");
    expect(find("PodDisruptionBudget").spec.minAvailable).toBe(1);
  });
});
