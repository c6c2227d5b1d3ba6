/**
 * OpenAI tool parameters are JSON Schema; Gemini's `functionDeclarations[].parameters`
 * takes a subset of the OpenAPI 3.0 Schema object and answers 400 INVALID_ARGUMENT for
 * any field outside it (`additionalProperties`, `$schema`, `strict`, `const`, …). This
 * rewrites a JSON Schema into that subset, keeping every constraint Gemini can express.
 */
type Json = Record<string, unknown>;

/** The fields Gemini's Schema object accepts (ai.google.dev API reference, "Schema"). */
const KEPT = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum",
]);

/** The formats Gemini accepts, by type. */
const FORMATS: Record<string, ReadonlySet<string>> = {
  string: new Set(["enum", "date-time"]),
  number: new Set(["float", "double"]),
  integer: new Set(["int32", "int64"]),
};

const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** `$ref`s are inlined from the root's `$defs`/`definitions`; recursion stops at this depth. */
const MAX_REF_DEPTH = 6;

function resolveRef(ref: string, root: Json): Json | null {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return null;
  const defs = root[m[1] ?? ""];
  const found = isObject(defs) ? defs[decodeURIComponent(m[2] ?? "")] : undefined;
  return isObject(found) ? found : null;
}

function convert(schema: unknown, root: Json, depth: number): Json {
  if (!isObject(schema)) return {};
  let s = schema;
  if (typeof s.$ref === "string") {
    const target = depth < MAX_REF_DEPTH ? resolveRef(s.$ref, root) : null;
    // A schema beside a $ref (description) wins over the referenced one's.
    const { $ref: _ref, ...rest } = s;
    s = target ? { ...target, ...rest } : rest;
    depth++;
  }
  // allOf: Gemini has no intersection; merge the parts (properties and required add up).
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    let merged: Json = {};
    for (const part of allOf as unknown[]) {
      const p = convert(part, root, depth);
      merged = {
        ...merged,
        ...p,
        properties: { ...(isObject(merged.properties) ? merged.properties : {}), ...(isObject(p.properties) ? p.properties : {}) },
        required: [...list(merged.required), ...list(p.required)],
      };
    }
    s = { ...merged, ...rest };
  }

  const out: Json = {};
  for (const [key, value] of Object.entries(s)) {
    if (key === "properties" && isObject(value)) {
      const props: Json = {};
      for (const [name, sub] of Object.entries(value)) props[name] = convert(sub, root, depth);
      if (Object.keys(props).length > 0) out.properties = props; // Gemini rejects an empty properties map
    } else if (key === "items") {
      // Tuple form (array of schemas) has no equivalent; the first item type is the best guess.
      out.items = convert(Array.isArray(value) ? value[0] : value, root, depth);
    } else if ((key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out.anyOf = value.map((v) => convert(v, root, depth));
    } else if (key === "const") {
      out.enum = [value];
    } else if (key === "type" && Array.isArray(value)) {
      // ["string","null"] → type string + nullable; several real types → anyOf.
      const types = value.filter((t): t is string => typeof t === "string" && t !== "null");
      if (value.includes("null")) out.nullable = true;
      if (types.length === 1) out.type = types[0];
      else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }));
    } else if (key === "type" && value === "null") {
      out.nullable = true;
    } else if (key === "required" && Array.isArray(value)) {
      if (value.length > 0) out.required = [...new Set(value)];
    } else if (KEPT.has(key) && key !== "anyOf") {
      out[key] = value;
    }
  }
  // anyOf of [X, {type:null}] (pydantic's Optional) → X nullable.
  if (Array.isArray(out.anyOf)) {
    const branches = (out.anyOf as Json[]).filter((b) => !(Object.keys(b).length === 1 && b.nullable === true));
    if (branches.length < (out.anyOf as Json[]).length) out.nullable = true;
    if (branches.length === 1) {
      delete out.anyOf;
      Object.assign(out, branches[0], out.nullable ? { nullable: true } : {});
    } else out.anyOf = branches;
  }
  // Gemini takes enums of strings only; a numeric enum is dropped rather than retyped (the argument keeps its type).
  if (Array.isArray(out.enum)) {
    if (out.enum.every((v) => typeof v === "string")) out.type ??= "string";
    else delete out.enum;
  }
  // Gemini rejects formats it does not know for the type ("uri", "email", …).
  if (typeof out.format === "string" && !FORMATS[String(out.type)]?.has(out.format)) delete out.format;
  return out;
}

/** A JSON Schema as Gemini's OpenAPI-subset Schema; `undefined` for an object with no properties (Gemini rejects it). */
export function toGeminiSchema(schema: unknown): Json | undefined {
  if (!isObject(schema)) return undefined;
  const out = convert(schema, schema, 0);
  if (out.type === "object" && out.properties === undefined) return undefined;
  return out;
}

const NAMED_SCHEMAS = new Set(["properties", "$defs", "definitions", "patternProperties"]);

/**
 * For `responseJsonSchema`, which takes real JSON Schema (additionalProperties, $defs, $ref
 * included), only the meta fields Gemini does not list are removed.
 */
export function toGeminiResponseJsonSchema(schema: unknown): Json | undefined {
  if (!isObject(schema)) return undefined;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (!isObject(v)) return v;
    const out: Json = {};
    for (const [k, sub] of Object.entries(v)) {
      if (k === "$schema") continue;
      // Maps of names to schemas: the names are the user's, only their schemas are cleaned.
      if (NAMED_SCHEMAS.has(k) && isObject(sub)) out[k] = Object.fromEntries(Object.entries(sub).map(([n, x]) => [n, strip(x)]));
      else out[k] = strip(sub);
    }
    return out;
  };
  return strip(schema) as Json;
}
