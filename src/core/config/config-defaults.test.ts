/**
 * config-schema.ts is the one source of every config default: a key's `default` (a value, as the
 * file would hold it) or `x-default` (a rule in words, computed by loadConfig). This test checks
 * the three other places a default shows against it:
 * - the `@default` tags of config-types.ts (read as text, parsed with the TypeScript compiler),
 * - the table of docs/configuration.md (`| key | default | meaning |`),
 * - what loadConfig() returns for a file that sets nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { isObject } from '../../util/is-object.js';
import { parseDuration } from '../../util/duration.js';
import { configSchema } from './config-schema.js';
import { loadConfig } from './load-config.js';

const repo = join(import.meta.dirname, '..', '..', '..');

// ---------------------------------------------------------------- the schema's keys

interface SchemaKey {
  /** Dotted config key: `async.dashboard.path`. */
  key: string;
  node: Record<string, unknown>;
  required: boolean;
  hasDefault: boolean;
  default?: unknown;
  /** `x-default`: the rule a computed default follows. */
  rule?: string;
}

function schemaKeys(node: unknown, prefix = ''): SchemaKey[] {
  if (!isObject(node) || !isObject(node.properties)) return [];
  const required = Array.isArray(node.required) ? (node.required as string[]) : [];
  return Object.entries(node.properties).flatMap(([name, child]) => {
    const c = child as Record<string, unknown>;
    const key = `${prefix}${name}`;
    const rule = c['x-default'];
    const own: SchemaKey = { key, node: c, required: required.includes(name), hasDefault: 'default' in c, default: c.default, rule: typeof rule === 'string' ? rule : undefined };
    // A map keyed by the user (`clients.<api>`): its entries' keys are written `<key>.<api>.<field>`.
    return [own, ...schemaKeys(c, `${key}.`), ...schemaKeys(c.additionalProperties, `${key}.${MAP_KEY[key] ?? '<key>'}.`)];
  });
}

/** How the docs and types name the user's key of each map section. */
const MAP_KEY: Record<string, string> = { clients: '<api>' };
/** The API the loadConfig() check below configures a client for. */
const SAMPLE_API = 'a';

const KEYS = schemaKeys(configSchema);
const BY_KEY = new Map(KEYS.map((k) => [k.key, k]));
const defaulted = (k: SchemaKey): boolean => k.hasDefault || k.rule !== undefined;

// ---------------------------------------------------------------- field ↔ key, written once

/** Where each interface of config-types.ts sits in the file: its fields are `<prefix><field>`. */
const SECTIONS: Record<string, string> = {
  KlueConfig: '',
  HttpConfig: 'http.',
  AsyncConfig: 'async.',
  DashboardConfig: 'async.dashboard.',
  SentinelConfig: 'async.redis_sentinel.',
  ClientConfig: 'clients.<api>.',
};
/** `JwtConfig` (`config.jwt`) names its fields after the top-level `jwt_*` keys, without `jwt_`. */
const JWT_FIELDS: Record<string, string> = {
  secret: 'jwt_secret',
  public_key: 'jwt_public_key',
  private_key: 'jwt_private_key',
  algorithm: 'jwt_algorithm',
  audience: 'jwt_audience',
  issuer: 'jwt_issuer',
  token_timeout: 'jwt_token_timeout',
  require_exp: 'jwt_require_exp',
  require_sub: 'jwt_require_sub',
};
/** Keys with no KlueConfig field: read through `config.get()` (`setup` by the service loader). */
const RAW_ONLY = new Set(['env_secrets', 'setup']);
/** Sections whose keys each have their own row in docs/configuration.md. */
const NO_ROW = new Set(['http', 'async']);

/** The KlueConfig path (`jwt.token_timeout`, `async.attempts`) of a config key. */
function fieldPath(key: string): string {
  const jwt = Object.entries(JWT_FIELDS).find(([, k]) => k === key);
  return jwt ? `jwt.${jwt[0]}` : key;
}

// ---------------------------------------------------------------- comparing a written default

/** Drops formatting: backticks and quotes, `_` in numbers, a trailing `(…)` aside, spacing. */
function normalise(text: string): string {
  return text
    .replace(/[`'"]/g, '')
    .replace(/(\d)_(?=\d)/g, '$1')
    .replace(/\s*\([^)]*\)\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9_]+/g) ?? [];
}

function asMs(text: string): number | undefined {
  try {
    return parseDuration(text.replace(/\s+/g, ''));
  } catch {
    return undefined;
  }
}

function valueMatches(written: string, value: unknown): boolean {
  if (Array.isArray(value)) {
    const list = value.map(String).join(', ');
    return written === list || written === `[${list}]` || (value.length === 0 && written === 'none');
  }
  if (typeof value === 'number' || typeof value === 'string') {
    if (written === String(value)) return true;
    const ms = asMs(String(value));
    return ms !== undefined && asMs(written) === ms;
  }
  return written === String(value);
}

/** Why `written` (a `@default` or a table cell) disagrees with the schema, or undefined. */
function disagreement(written: string, k: SchemaKey): string | undefined {
  if (k.rule !== undefined) {
    const have = new Set(words(written));
    const missing = words(k.rule).filter((w) => !have.has(w));
    return missing.length ? `'${written}' lacks the words ${missing.join(', ')} of the rule '${k.rule}'` : undefined;
  }
  const norm = normalise(written);
  if (k.hasDefault) return valueMatches(norm, k.default) ? undefined : `'${written}' is not the schema's default ${JSON.stringify(k.default)}`;
  const allowed = k.required ? ['required'] : ['none', 'off'];
  return allowed.includes(norm) ? undefined : `'${written}': the schema has no default (say ${allowed.join(' or ')})`;
}

// ---------------------------------------------------------------- the two texts

interface TsField {
  where: string;
  key: string | undefined;
  defaults: string[];
}

function typeFields(): TsField[] {
  const file = join(repo, 'src/core/config/config-types.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const fields: TsField[] = [];
  for (const statement of source.statements) {
    if (!ts.isInterfaceDeclaration(statement)) continue;
    const iface = statement.name.text;
    for (const member of statement.members) {
      if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
      const field = member.name.text;
      const key = iface === 'JwtConfig' ? JWT_FIELDS[field] : SECTIONS[iface] === undefined ? undefined : `${SECTIONS[iface]}${field}`;
      const defaults = ts
        .getJSDocTags(member)
        .filter((t) => t.tagName.text === 'default')
        .map((t) => ts.getTextOfJSDocComment(t.comment)?.trim() ?? '');
      if (key === undefined && (iface === 'JwtConfig' || defaults.length > 0)) {
        throw new Error(`config-types.ts: ${iface}.${field} maps to no config key: add it to SECTIONS or JWT_FIELDS in this test`);
      }
      fields.push({ where: `${iface}.${field}`, key, defaults });
    }
  }
  return fields;
}

interface Row {
  line: number;
  key: string;
  written: string;
}

function tableRows(): Row[] {
  const lines = readFileSync(join(repo, 'docs/configuration.md'), 'utf8').split('\n');
  const start = lines.indexOf('## Keys');
  const rows: Row[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]?.startsWith('## '); i++) {
    const cells = (lines[i] ?? '').split('|').map((c) => c.trim());
    // '', key, default, meaning, ''
    const [, keyCell, defaultCell] = cells;
    if (keyCell === undefined || defaultCell === undefined || !keyCell.startsWith('`')) continue;
    const keys = [...keyCell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
    const parts = defaultCell.split(/,\s*/);
    // `a`, `b` | 1, 2: one default each; a cell that does not split in as many is every key's.
    keys.forEach((key, j) => rows.push({ line: i + 1, key, written: keys.length > 1 && parts.length === keys.length ? (parts[j] ?? '') : defaultCell }));
  }
  return rows;
}

// ---------------------------------------------------------------- the checks

describe('config defaults: config-schema.ts is their one source', () => {
  it('gives each key a value or a rule, and each value is valid for its key', () => {
    const ajv = new Ajv({ strict: false });
    const problems: string[] = [];
    for (const k of KEYS) {
      if (k.hasDefault && k.rule !== undefined) problems.push(`${k.key}: both a default and an x-default`);
      if (k.hasDefault && !ajv.validate(k.node, k.default)) problems.push(`${k.key}: default ${JSON.stringify(k.default)} ${ajv.errorsText()}`);
    }
    expect(problems).toEqual([]);
  });

  it('agrees with every @default of config-types.ts', () => {
    const fields = typeFields();
    const problems: string[] = [];
    for (const f of fields) {
      const k = f.key === undefined ? undefined : BY_KEY.get(f.key);
      if (f.defaults.length > 1) problems.push(`${f.where}: ${f.defaults.length} @default tags`);
      const written = f.defaults[0];
      if (!k) {
        if (written !== undefined) problems.push(`${f.where}: @default ${written}, but the schema has no key ${String(f.key)}`);
        continue;
      }
      if (!defaulted(k)) {
        if (written !== undefined) problems.push(`${f.where}: @default ${written}, but the schema gives ${k.key} no default`);
        continue;
      }
      if (written === undefined) {
        problems.push(`${f.where}: no @default, the schema's is ${k.rule ?? JSON.stringify(k.default)}`);
        continue;
      }
      const why = disagreement(written, k);
      if (why) problems.push(`${f.where} (${k.key}): @default ${why}`);
    }
    const typed = new Set(fields.map((f) => f.key));
    for (const k of KEYS) {
      if (defaulted(k) && !typed.has(k.key) && !RAW_ONLY.has(k.key)) problems.push(`${k.key}: has a default but no field in config-types.ts (or add it to RAW_ONLY)`);
    }
    expect(problems).toEqual([]);
  });

  it('agrees with the table of docs/configuration.md, which has a row for every key', () => {
    const rows = tableRows();
    const problems: string[] = [];
    const seen = new Map<string, number>();
    for (const row of rows) {
      const k = BY_KEY.get(row.key);
      if (!k) {
        problems.push(`line ${row.line}: ${row.key} is not a key of the schema`);
        continue;
      }
      const before = seen.get(row.key);
      if (before !== undefined) problems.push(`line ${row.line}: ${row.key} already has a row (line ${before})`);
      seen.set(row.key, row.line);
      const why = disagreement(row.written, k);
      if (why) problems.push(`line ${row.line}: ${row.key}: ${why}`);
    }
    for (const k of KEYS) {
      if (!seen.has(k.key) && !NO_ROW.has(k.key)) problems.push(`${k.key}: no row in the table`);
    }
    expect(problems).toEqual([]);
  });

  it('is what loadConfig() returns for a file that sets nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'klue-defaults-'));
    mkdirSync(join(dir, 'apis'));
    writeFileSync(join(dir, 'apis', 'a.yaml'), 'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\n');
    // The optional sections, present but empty, so that their keys' defaults show too.
    writeFileSync(join(dir, 'klue-config.yaml'), `name: x\nasync:\n  dashboard: {}\n  redis_sentinel: {name: m, sentinels: ["h:26379"]}\nclients:\n  ${SAMPLE_API}: {url: "http://h"}\n`);
    const config = (await loadConfig({ dir })) as unknown as Record<string, unknown>;
    const at = (path: string): unknown => path.split('.').reduce<unknown>((v, part) => (isObject(v) ? v[part] : undefined), config);
    const problems: string[] = [];
    for (const k of KEYS) {
      // apis: the loaded value is the files its globs matched (checked by load-config.test.ts).
      if (!k.hasDefault || RAW_ONLY.has(k.key) || k.key === 'apis') continue;
      const loaded = at(fieldPath(k.key).replace('<api>', SAMPLE_API));
      const expected = typeof k.default === 'string' && typeof loaded === 'number' ? parseDuration(k.default) : k.default;
      if (JSON.stringify(loaded) !== JSON.stringify(expected)) problems.push(`${k.key}: loaded ${JSON.stringify(loaded)}, schema default ${JSON.stringify(k.default)}`);
    }
    expect(problems).toEqual([]);
    expect(config.raw).toEqual({ name: 'x', async: { dashboard: {}, redis_sentinel: { name: 'm', sentinels: ['h:26379'] } }, clients: { [SAMPLE_API]: { url: 'http://h' } } });
  });
});
