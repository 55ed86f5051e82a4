/**
 * Turns a CustomResourceDefinition's OpenAPI v3 schema into a strict JSON
 * schema for kubeconform, so custom resources (KEDA's ScaledObject for the
 * Kafka scorer) are validated offline like the built-in kinds. Strict as
 * kubeconform's `-strict` is for those: an object that lists its properties
 * accepts no others, unless the CRD says `x-kubernetes-preserve-unknown-fields`
 * or gives `additionalProperties` itself. `apiVersion`, `kind` and `metadata`
 * are checked loosely (the API server owns them).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One CRD document as parsed YAML (only the fields read here). */
export interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema?: { openAPIV3Schema?: Json } }[];
  };
}

/** The schema for `version` of `crd`, strict; throws when the CRD has no such version. */
export function crdJsonSchema(crd: Crd, version: string): Json {
  const v = crd.spec.versions.find((x) => x.name === version);
  const root = v?.schema?.openAPIV3Schema;
  if (root === undefined)
    throw new Error(`${crd.spec.names.kind} has no schema for version ${version}`);
  const strict = tighten(root) as Record<string, Json>;
  const props = (strict.properties ?? {}) as Record<string, Json>;
  props.metadata = { type: "object" };
  return { $schema: "http://json-schema.org/draft-07/schema#", ...strict, properties: props };
}

/** kubeconform's file name for a kind: `scaledobject-keda-v1alpha1`. */
export function crdSchemaName(crd: Crd, version: string): string {
  return `${crd.spec.names.kind.toLowerCase()}-${crd.spec.group.split(".")[0]}-${version}`;
}

function tighten(node: Json): Json {
  if (Array.isArray(node)) return node.map(tighten);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "x-kubernetes-int-or-string" && value === true) {
      // OpenAPI's int-or-string has no JSON-schema type of its own (its `type` goes below).
      out.anyOf = [{ type: "integer" }, { type: "string" }];
      continue;
    }
    if (key.startsWith("x-kubernetes-")) continue;
    out[key] = key === "properties" ? mapValues(value, tighten) : tighten(value);
  }
  if (
    out.type === "object" &&
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    (node as Record<string, Json>)["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  if ((node as Record<string, Json>)["x-kubernetes-int-or-string"] === true) delete out.type;
  return out;
}

function mapValues(value: Json, f: (v: Json) => Json): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, f(v)]));
}
