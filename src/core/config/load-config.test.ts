import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KlueError } from '../errors/klue-error.js';
import { loadConfig } from './load-config.js';

const SPEC = 'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\n';

function serviceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'klue-cfg-'));
  mkdirSync(join(dir, 'apis'));
  writeFileSync(join(dir, 'apis', 'a.yaml'), SPEC);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function failure(p: Promise<unknown>): Promise<KlueError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KlueError) return err;
    throw err;
  }
  throw new Error('expected a KlueError');
}

afterEach(() => {
  delete process.env.KLUE_TEST_SECRET;
});

describe('loadConfig', () => {
  it("reads the original's pym-config.yaml keys and substitutes env secrets", async () => {
    process.env.KLUE_TEST_SECRET = 's3cret';
    const dir = serviceDir({
      'pym-config.yaml': 'name: hello\nwith_async: true\njwt_secret: KLUE_TEST_SECRET\njwt_audience: aud\njwt_issuer: iss\nenv_secrets: [KLUE_TEST_SECRET]\nuuid_file_path: /tmp/x\naws_user: <IAM_USER_NAME>\n',
    });
    const config = await loadConfig({ dir });
    expect(config.name).toBe('hello');
    expect(config.jwt).toMatchObject({ secret: 's3cret', audience: 'aud', issuer: 'iss', algorithm: 'HS256', token_timeout: 86400 });
    expect(config.with_async).toBe(true);
    expect(config.get('uuid_file_path')).toBe('/tmp/x');
    expect(config.async.queue).toBe('hello');
    expect(config.apis).toEqual([join(dir, 'apis', 'a.yaml')]);
  });

  it('fails at start-up, naming file and key, when a listed env secret is not set', async () => {
    const dir = serviceDir({ 'klue-config.yaml': 'name: x\njwt_secret: KLUE_TEST_SECRET\nenv_secrets: [KLUE_TEST_SECRET]\n' });
    const err = await failure(loadConfig({ dir }));
    expect(err.code).toBe('ENV_SECRET_MISSING');
    expect(err.message).toContain('klue-config.yaml: jwt_secret: environment variable KLUE_TEST_SECRET is not set');
  });

  it('merges klue-config.<env>.yaml over the base file', async () => {
    const dir = serviceDir({
      'klue-config.yaml': 'name: x\nasync: {concurrency: 4, attempts: 5}\n',
      'klue-config.staging.yaml': 'async: {concurrency: 8}\n',
    });
    const config = await loadConfig({ dir, env: 'staging' });
    expect(config.env).toBe('staging');
    expect(config.async.concurrency).toBe(8);
    expect(config.async.attempts).toBe(5);
  });

  it('names every invalid key with its path', async () => {
    const dir = serviceDir({ 'klue-config.yaml': 'name: x\nasync: {concurrency: 0, colour: red}\nwith_async: "yes"\n' });
    const err = await failure(loadConfig({ dir }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/klue-config\.yaml: /);
    expect(err.message).toMatch(/async\.concurrency: must be >= 1/);
    expect(err.message).toMatch(/async: must NOT have additional properties 'colour'/);
    expect(err.message).toMatch(/with_async: must be boolean/);
  });

  it('rejects a bad duration in async defaults', async () => {
    const dir = serviceDir({ 'klue-config.yaml': 'name: x\nasync: {delay: soon}\n' });
    expect((await failure(loadConfig({ dir }))).message).toMatch(/async\.delay: 'soon' is not a duration/);
    const grace = serviceDir({ 'klue-config.yaml': 'name: x\nasync: {unknown_task_grace: later}\n' });
    expect((await failure(loadConfig({ dir: grace }))).message).toMatch(/klue-config\.yaml: async\.unknown_task_grace: 'later' is not a duration/);
  });

  it('reads unknown_task_grace as ms, 10 minutes unless set', async () => {
    expect((await loadConfig({ dir: serviceDir({ 'klue-config.yaml': 'name: x\n' }) })).async.unknown_task_grace).toBe(600_000);
    expect((await loadConfig({ dir: serviceDir({ 'klue-config.yaml': 'name: x\nasync: {unknown_task_grace: 5m}\n' }) })).async.unknown_task_grace).toBe(300_000);
  });

  it('reads context_propagation, auto unless set, and names a value it does not know', async () => {
    expect((await loadConfig({ dir: serviceDir({ 'klue-config.yaml': 'name: x\n' }) })).context_propagation).toBe('auto');
    expect((await loadConfig({ dir: serviceDir({ 'klue-config.yaml': 'name: x\ncontext_propagation: async_hooks\n' }) })).context_propagation).toBe('async_hooks');
    const err = await failure(loadConfig({ dir: serviceDir({ 'klue-config.yaml': 'name: x\ncontext_propagation: threads\n' }) }));
    expect(err.message).toMatch(/klue-config\.yaml: context_propagation: must be equal to one of the allowed values/);
  });

  it('checks each async.redis_cluster node at load, naming it and the file', async () => {
    const ok = serviceDir({ 'klue-config.yaml': 'name: x\nasync:\n  redis_cluster: ["10.0.0.1:7000", "[::1]:7001", "redis://:pw@node-2:7002", "rediss://node-3"]\n' });
    expect((await loadConfig({ dir: ok })).async.redis_cluster).toEqual(['10.0.0.1:7000', '[::1]:7001', 'redis://:pw@node-2:7002', 'rediss://node-3']);
    for (const [bad, why] of [
      ['unix:///tmp/x.sock', /only redis:\/\/ and rediss:\/\/ nodes can form a cluster/],
      ['node-1', /is not host:port, redis:\/\/… or rediss:\/\/…/],
      ['node-1:99999', /is not host:port/],
      ['redis://', /is not a valid redis:\/\/ URL/],
    ] as const) {
      const dir = serviceDir({ 'klue-config.yaml': `name: x\nasync:\n  redis_cluster: ["10.0.0.1:7000", "${bad}"]\n` });
      const err = await failure(loadConfig({ dir }));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toContain(`${join(dir, 'klue-config.yaml')}: async.redis_cluster[1]: '${bad}'`);
      expect(err.message).toMatch(why);
    }
  });

  it('fills defaults from the schema but keeps raw as the file says', async () => {
    const config = await loadConfig({ dir: serviceDir({ 'klue-config.yaml': 'name: x\nasync: {dashboard: {basic_user: u}}\n' }) });
    expect(config.async.dashboard).toEqual({ basic_user: 'u', path: '/admin/queues', admin_claim: 'admin' });
    expect(config.async.max_task_age).toBe(7 * 86_400_000);
    expect(config.raw).toEqual({ name: 'x', async: { dashboard: { basic_user: 'u' } } });
    expect(config.get('async.attempts')).toBeUndefined();
  });

  it('fails when there is no config file or no spec', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'klue-cfg-'));
    expect((await failure(loadConfig({ dir: empty }))).message).toMatch(/no klue-config\.yaml/);
    writeFileSync(join(empty, 'klue-config.yaml'), 'name: x\n');
    expect((await failure(loadConfig({ dir: empty }))).message).toMatch(/apis: no spec file matches/);
  });
});
