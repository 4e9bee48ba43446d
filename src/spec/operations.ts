import { isObject } from '../util/is-object.js';
import { KlueError } from '../core/errors/klue-error.js';
import { refDefinitionName, type JsonSchema } from './json-schema.js';
import type { SpecFile } from './spec-file.js';
import { resolvePointer, specSchemas, type SpecSchemas } from './spec-schemas.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
export type HttpMethod = (typeof METHODS)[number];

export interface ResponseSpec {
  schema?: JsonSchema;
  /** Qualified model name when the schema is a definition `$ref`. */
  model?: string;
}

/** One operation of a spec, in the terms klue serves it. */
export interface Operation {
  api: string;
  file: string;
  method: HttpMethod;
  /** The path as written in the spec (`/hello/{name}`). */
  path: string;
  /** The user-facing JSON path of the operation, for errors: `paths./hello.get`. */
  where: string;
  operationId?: string;
  /** The `x-bind-server` value; without it the operation is bound by its `operationId` (or answers 501). */
  binding?: string;
  /** The `x-bind-client` value: the original's name of the operation's client method. */
  clientName?: string;
  requiresAuth: boolean;
  params?: JsonSchema;
  querystring?: JsonSchema;
  headers?: JsonSchema;
  body?: JsonSchema;
  bodyRequired: boolean;
  /** Qualified model name of the body when it is a definition `$ref`. */
  bodyModel?: string;
  /**
   * Media types the operation declares for its body (`consumes`, `requestBody.content`); empty
   * when it declares none (JSON, as before). `body` is the schema of the JSON one, or else of
   * the form one.
   */
  bodyMedia: string[];
  /** Schema of an `application/x-www-form-urlencoded` or `multipart/form-data` body, when declared. */
  formBody?: JsonSchema;
  /** Response specs by status code (`200`, `404`, `default`). */
  responses: Map<string, ResponseSpec>;
  /** Status of a successful answer: the lowest 2xx the spec declares, or 200. */
  successStatus: number;
}

/** Follows local `$ref`s to parameters, request bodies and responses (not schemas). */
function deref(doc: Record<string, unknown>, node: unknown, file: string): unknown {
  let cur = node;
  for (let hops = 0; isObject(cur) && typeof cur.$ref === 'string' && hops < 20; hops++) {
    const ref = cur.$ref;
    if (!ref.startsWith('#/')) throw new KlueError('SPEC_INVALID', `${file}: unsupported $ref ${ref}`);
    const target = resolvePointer(doc, ref);
    if (target === undefined) throw new KlueError('SPEC_INVALID', `${file}: $ref ${ref} points at nothing`);
    cur = target;
  }
  return cur;
}

const PARAM_KEYWORDS = ['type', 'format', 'items', 'enum', 'default', 'minimum', 'maximum', 'exclusiveMinimum',
  'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'multipleOf',
  'x-nullable'];

function paramSchema(schemas: SpecSchemas, param: Record<string, unknown>): JsonSchema {
  if (isObject(param.schema)) return schemas.convert(param.schema);
  const s: Record<string, unknown> = {};
  for (const k of PARAM_KEYWORDS) if (param[k] !== undefined) s[k] = param[k];
  // A file sent in a form is whatever bytes the client sent.
  if (s.type === 'file') return {};
  return schemas.convert(s);
}

const JSON_MEDIA = /^application\/([\w.+-]+\+)?json\b/i;
const FORM_MEDIA = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

/** What kind of body a media type is, as klue parses it. */
export function mediaKind(media: string): 'json' | 'form' | 'other' {
  if (JSON_MEDIA.test(media) || media === '*/*' || /^application\/\*/.test(media)) return 'json';
  return FORM_MEDIA.test(media) ? 'form' : 'other';
}

/**
 * A form field with `format: binary` is a file: its schema accepts the Buffer that the
 * multipart parser gives (a string schema would refuse it).
 */
function formSchema(schema: JsonSchema): JsonSchema {
  const props = schema.properties;
  if (!isObject(props)) return schema;
  const fileField = (s: unknown) => isObject(s) && (s.format === 'binary' || (s.type === 'array' && isObject(s.items) && s.items.format === 'binary'));
  return { ...schema, properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, fileField(v) ? {} : v])) };
}

function isBearerScheme(scheme: unknown): boolean {
  if (!isObject(scheme)) return false;
  if (scheme.type === 'http') return String(scheme.scheme).toLowerCase() === 'bearer';
  if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') return true;
  return scheme.type === 'apiKey' && scheme.in === 'header' && String(scheme.name).toLowerCase() === 'authorization';
}

function requiresAuth(spec: SpecFile, op: Record<string, unknown>): boolean {
  const decorate = op['x-decorate-server'];
  if (typeof decorate === 'string' && /(^|\.)requires_auth$/.test(decorate)) return true;
  const schemes = spec.major === 2 ? spec.doc.securityDefinitions : (spec.doc.components as { securitySchemes?: unknown } | undefined)?.securitySchemes;
  const security = op.security ?? spec.doc.security;
  if (!Array.isArray(security) || !isObject(schemes)) return false;
  // Any one requirement object may be satisfied; klue enforces it when it names a bearer scheme.
  return security.some((req) => isObject(req) && Object.keys(req).some((name) => isBearerScheme(schemes[name])));
}

function objectSchema(props: Map<string, JsonSchema>, required: string[]): JsonSchema | undefined {
  if (props.size === 0) return undefined;
  return { type: 'object', properties: Object.fromEntries(props), required };
}

function pickJson(content: unknown): Record<string, unknown> | undefined {
  if (!isObject(content)) return undefined;
  const key = Object.keys(content).find((k) => JSON_MEDIA.test(k)) ?? Object.keys(content)[0];
  const media = key === undefined ? undefined : content[key];
  return isObject(media) ? media : undefined;
}

function responseSpecs(spec: SpecFile, op: Record<string, unknown>): Map<string, ResponseSpec> {
  const out = new Map<string, ResponseSpec>();
  const responses = isObject(op.responses) ? op.responses : {};
  for (const [status, raw] of Object.entries(responses)) {
    const res = deref(spec.doc, raw, spec.file);
    if (!isObject(res)) continue;
    const schema = spec.major === 2 ? res.schema : pickJson(res.content)?.schema;
    const model = isObject(schema) ? refDefinitionName(schema.$ref) : undefined;
    out.set(status, {
      schema: isObject(schema) ? specSchemas(spec).convert(schema) : undefined,
      model: model === undefined ? undefined : `${spec.name}.${model}`,
    });
  }
  return out;
}

/**
 * Extracts every operation of a spec, with JSON schemas for each part of its requests and
 * responses. No operation needs `x-bind-server` here: an API the service only calls has none,
 * and the service binds the others (by operationId, or to a 501).
 */
export function extractOperations(spec: SpecFile): Operation[] {
  const ops: Operation[] = [];
  const schemas = specSchemas(spec);
  const paths = isObject(spec.doc.paths) ? spec.doc.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(spec.doc, rawItem, spec.file);
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const where = `paths.${path}.${method}`;
      const binding = op['x-bind-server'];
      const groups = { path: new Map<string, JsonSchema>(), query: new Map<string, JsonSchema>(), header: new Map<string, JsonSchema>(), formData: new Map<string, JsonSchema>() };
      const required = { path: [] as string[], query: [] as string[], header: [] as string[], formData: [] as string[] };
      let body: JsonSchema | undefined;
      let bodyRequired = false;
      let bodyModel: string | undefined;
      let formBody: JsonSchema | undefined;
      let bodyMedia: string[] = [];
      // Path-level parameters first: an operation's parameter of the same name and place overrides it.
      const byKey = new Map<string, Record<string, unknown>>();
      for (const rawParam of [...(Array.isArray(item.parameters) ? (item.parameters as unknown[]) : []), ...(Array.isArray(op.parameters) ? (op.parameters as unknown[]) : [])]) {
        const p = deref(spec.doc, rawParam, spec.file);
        if (isObject(p) && typeof p.name === 'string') byKey.set(`${String(p.in)} ${p.name}`, p);
      }
      for (const p of byKey.values()) {
        const name = p.name as string;
        if (p.in === 'body') {
          body = paramSchema(schemas, p);
          bodyRequired = p.required === true;
          const def = isObject(p.schema) ? refDefinitionName(p.schema.$ref) : undefined;
          if (def !== undefined) bodyModel = `${spec.name}.${def}`;
        } else if (p.in === 'path' || p.in === 'query' || p.in === 'header' || p.in === 'formData') {
          const key = p.in === 'header' ? name.toLowerCase() : name;
          groups[p.in].set(key, paramSchema(schemas, p));
          if (p.required === true || p.in === 'path') required[p.in].push(key);
        }
      }
      if (spec.major === 2) {
        const consumes = op.consumes ?? spec.doc.consumes;
        bodyMedia = Array.isArray(consumes) ? consumes.filter((m): m is string => typeof m === 'string') : [];
        if (groups.formData.size > 0) {
          formBody = objectSchema(groups.formData, required.formData);
          body ??= formBody;
          bodyRequired ||= required.formData.length > 0;
          if (!bodyMedia.some((m) => mediaKind(m) === 'form')) bodyMedia = [...bodyMedia, 'application/x-www-form-urlencoded', 'multipart/form-data'];
        }
      }
      const requestBody = deref(spec.doc, op.requestBody, spec.file);
      if (isObject(requestBody)) {
        const content = isObject(requestBody.content) ? requestBody.content : {};
        bodyMedia = Object.keys(content);
        const json = bodyMedia.find((m) => mediaKind(m) === 'json');
        const form = bodyMedia.find((m) => mediaKind(m) === 'form');
        const schemaOf = (m: string | undefined) => {
          const media = m === undefined ? undefined : content[m];
          return isObject(media) && isObject(media.schema) ? media.schema : undefined;
        };
        const formRaw = schemaOf(form);
        if (formRaw) formBody = formSchema(schemas.convert(formRaw));
        const schema = schemaOf(json) ?? formRaw ?? schemaOf(bodyMedia[0]);
        if (schema) {
          body = schemas.convert(schema);
          const def = refDefinitionName(schema.$ref);
          if (def !== undefined) bodyModel = `${spec.name}.${def}`;
        }
        bodyRequired = requestBody.required === true;
      }
      const responses = responseSpecs(spec, op);
      const success = [...responses.keys()].map(Number).filter((s) => s >= 200 && s < 300).sort((a, b) => a - b)[0];
      ops.push({
        api: spec.name,
        file: spec.file,
        method,
        path,
        where,
        operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
        binding: typeof binding === 'string' && binding.trim() !== '' ? binding.trim() : undefined,
        clientName: typeof op['x-bind-client'] === 'string' ? op['x-bind-client'] : undefined,
        requiresAuth: requiresAuth(spec, op),
        params: objectSchema(groups.path, required.path),
        querystring: objectSchema(groups.query, required.query),
        headers: objectSchema(groups.header, required.header),
        body,
        bodyRequired,
        bodyModel,
        bodyMedia,
        formBody,
        responses,
        successStatus: success ?? 200,
      });
    }
  }
  return ops;
}

/** The definitions of a spec (Swagger `definitions` or OpenAPI `components.schemas`). */
export function specDefinitions(spec: SpecFile): Record<string, Record<string, unknown>> {
  const defs = spec.major === 2 ? spec.doc.definitions : (spec.doc.components as { schemas?: unknown } | undefined)?.schemas;
  return isObject(defs) ? (defs as Record<string, Record<string, unknown>>) : {};
}

/** The path prefix from `basePath` (Swagger 2) or the first server URL (OpenAPI 3). */
export function specBasePath(spec: SpecFile): string {
  let base = '';
  if (spec.major === 2 && typeof spec.doc.basePath === 'string') base = spec.doc.basePath;
  const servers = spec.doc.servers;
  if (spec.major === 3 && Array.isArray(servers) && isObject(servers[0]) && typeof servers[0].url === 'string') {
    base = new URL(servers[0].url, 'http://x').pathname;
  }
  return base.replace(/\/+$/, '');
}
