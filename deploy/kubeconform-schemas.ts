/**
 * Builds standalone JSON schemas for kubeconform from the Kubernetes schemas
 * that the PyPI package `kubernetes-validate` ships, so `deploy/k8s/` can be
 * validated offline (kubeconform otherwise downloads its schemas).
 *
 * kubernetes-validate's "local" schemas are draft 2020-12 documents whose
 * `$ref`s point into a shared `/api/_definitions.json`, resolved against an
 * https `$id`; kubeconform would fetch that. Each schema written here carries
 * the definitions it reaches under its own `$defs`, with local refs, and
 * no `$id`.
 *
 * Usage: tsx deploy/kubeconform-schemas.ts <schema-dir> <out-dir> <manifest>...
 * where <schema-dir> is e.g. `<site-packages>/kubernetes_validate/
 * kubernetes-json-schema/v1.35.0-local-strict`. Then:
 *   kubeconform -strict -summary -schema-location '<out-dir>/{{ .ResourceKind }}{{ .KindSuffix }}.json' deploy/k8s
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const SHARED_REF = "/api/_definitions.json#/$defs/";
const LOCAL_REF = "#/$defs/";

/** `apps/v1` + `Deployment` → `deployment-apps-v1`, kubeconform's file naming. */
export function schemaName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const groupPart = group === "" ? "" : `-${(group as string).split(".")[0]}`;
  return `${kind.toLowerCase()}${groupPart}-${version}`;
}

/** The `apiVersion`/`kind` pairs of every document in some YAML manifests. */
export function manifestKinds(
  yamlTexts: readonly string[],
): { apiVersion: string; kind: string }[] {
  const seen = new Map<string, { apiVersion: string; kind: string }>();
  for (const text of yamlTexts) {
    for (const doc of text.split(/^---\s*$/m)) {
      const apiVersion = /^apiVersion:\s*(\S+)\s*$/m.exec(doc)?.[1];
      const kind = /^kind:\s*(\S+)\s*$/m.exec(doc)?.[1];
      if (apiVersion !== undefined && kind !== undefined) {
        seen.set(`${apiVersion} ${kind}`, { apiVersion, kind });
      }
    }
  }
  return [...seen.values()];
}

/**
 * Turns one schema into a standalone one: copies every definition it reaches
 * into `$defs` and rewrites shared refs to local ones.
 */
export function standaloneSchema(root: Json, definitions: Record<string, Json>): Json {
  const defs: Record<string, Json> = {};
  const pending: string[] = [];
  const rewrite = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(node)) {
      if (
        key === "$ref" &&
        typeof value === "string" &&
        (value.startsWith(SHARED_REF) || value.startsWith(LOCAL_REF))
      ) {
        const name = value.slice(value.indexOf(LOCAL_REF) + LOCAL_REF.length);
        if (!(name in defs) && !pending.includes(name)) pending.push(name);
        out[key] = `${LOCAL_REF}${name}`;
      } else if (key !== "$id") {
        out[key] = rewrite(value);
      }
    }
    return out;
  };
  const result = rewrite(root) as Record<string, Json>;
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    const definition = definitions[name];
    if (definition === undefined) throw new Error(`schema refers to unknown definition ${name}`);
    defs[name] = null; // mark as taken before recursing into its own refs
    defs[name] = rewrite(definition);
  }
  result.$defs = defs;
  return result;
}

/**
 * Writes a standalone schema for each kind used by the manifests into
 * `outDir`, named as kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}`.
 *
 * @returns the names of the schema files written.
 */
export function writeSchemas(
  schemaDir: string,
  outDir: string,
  yamlTexts: readonly string[],
): string[] {
  const shared = JSON.parse(readFileSync(join(schemaDir, "_definitions.json"), "utf8")) as {
    $defs: Record<string, Json>;
  };
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const { apiVersion, kind } of manifestKinds(yamlTexts)) {
    const name = `${schemaName(apiVersion, kind)}.json`;
    const root = JSON.parse(readFileSync(join(schemaDir, name), "utf8")) as Json;
    writeFileSync(join(outDir, name), JSON.stringify(standaloneSchema(root, shared.$defs)));
    written.push(name);
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [schemaDir, outDir, ...manifests] = process.argv.slice(2);
  if (schemaDir === undefined || outDir === undefined || manifests.length === 0) {
    process.stderr.write(
      "usage: tsx deploy/kubeconform-schemas.ts <schema-dir> <out-dir> <manifest>...\n",
    );
    process.exit(2);
  }
  const names = writeSchemas(
    schemaDir,
    outDir,
    manifests.map((m) => readFileSync(m, "utf8")),
  );
  process.stdout.write(`${names.join("\n")}\n`);
}
