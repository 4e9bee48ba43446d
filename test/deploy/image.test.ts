import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../helpers/redis.js';
import { copyService, helloworldDir, repoRoot } from '../helpers/service-dir.js';
import { waitFor } from '../helpers/wait.js';
import { buildLikeDocker, type BuiltImage } from './docker-build.js';
import { parseDockerfile } from './dockerfile-parser.js';
import { klueDeploy } from './generate.js';

const run = promisify(execFile);

// npm without the noise, and from the local cache when it has the packages (it has them: the repo was installed from it).
const npmEnv = { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

/** A private secret each run: the service must take them from the environment, as in the container. */
const secrets = { PYM_JWT_SECRET: randomUUID(), KLUE_ASYNC_SECRET: `${randomUUID()}${randomUUID()}` };

let root: string;
let image: BuiltImage;
let port: number;
let uuidFile: string;

// The image runs as USER node over files it does not own; when the tests run as root, an
// unprivileged uid stands in for it, so a write into the service folder would fail here too.
const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** Runs an exec-form command of the image in its WORKDIR with only the image's environment plus `env`, as Docker would. */
function runInImage(args: string[], env: Record<string, string>): ChildProcess {
  const [cmd, ...rest] = args;
  expect(cmd).toBe('node'); // the image's node is the one running these tests
  return spawn(process.execPath, rest, {
    cwd: image.dir,
    env: { PATH: `${dirname(process.execPath)}${delimiter}/usr/bin:/bin`, HOME: join(root, 'home'), ...image.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...unprivileged,
  });
}

function exitOf(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode ?? -1);
    else child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'klue-image-'));
  // Readable by the unprivileged user; only its home and the task's output folder are writable.
  chmodSync(root, 0o755);
  for (const writable of ['home', 'out']) {
    mkdirSync(join(root, writable));
    chmodSync(join(root, writable), 0o777);
  }
  uuidFile = join(root, 'out', 'uuid');
  port = await freePort();

  // klue as a user installs it: a package tarball. dist is already built (pretest / the brief's
  // `npm run build`); --ignore-scripts keeps pack from rebuilding dist under other running tests.
  expect(existsSync(join(repoRoot, 'dist', 'cli', 'main.js')), 'dist/ is missing: run npm run build').toBe(true);
  const { stdout: packed } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: repoRoot, env: { ...process.env, ...npmEnv } });
  const [{ filename }] = JSON.parse(packed) as [{ filename: string }];

  // The build context: the service as its author has it, with its own package.json and lockfile.
  // It sits next to the stage folders, so the lockfile's relative file: path resolves from each.
  const svc = copyService(helloworldDir, {
    uuid_file_path: uuidFile,
    async: { secret: 'KLUE_ASYNC_SECRET', queue: `deploy-${randomUUID().slice(0, 8)}` },
    env_secrets: ['PYM_JWT_SECRET', 'KLUE_ASYNC_SECRET'],
  });
  const context = join(root, 'context');
  try {
    cpSync(svc.dir, context, { recursive: true, filter: (p) => !p.includes('/node_modules') });
  } finally {
    svc.cleanup();
  }
  writeFileSync(
    join(context, 'package.json'),
    JSON.stringify({ name: 'hello', version: '1.0.0', private: true, type: 'module', dependencies: { klue: `file:../${filename}` } }, null, 2),
  );
  await run('npm', ['install', '--package-lock-only', '--ignore-scripts'], { cwd: context, env: { ...process.env, ...npmEnv } });

  const init = await klueDeploy(['init', '--port', String(port)], context);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stderr, 'a complete service gets no warning').not.toContain('warning');

  image = await buildLikeDocker(parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8')), context, root, npmEnv);
}, 240_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the image the Dockerfile describes', () => {
  it('contains the production install of klue and the service sources, not the context junk', () => {
    expect(existsSync(join(image.dir, 'node_modules', 'klue', 'bin', 'klue.js'))).toBe(true);
    expect(existsSync(join(image.dir, 'node_modules', 'vitest')), 'dev dependencies are omitted').toBe(false);
    expect(existsSync(join(image.dir, 'klue-config.yaml'))).toBe(true);
    expect(existsSync(join(image.dir, 'helloworld', 'api.ts'))).toBe(true);
    for (const junk of ['.klue', 'Dockerfile', 'docker-compose.yml', '.dockerignore']) expect(existsSync(join(image.dir, junk)), junk).toBe(false);
    expect(image.user).toBe('node');
    expect(image.env).toEqual({ NODE_ENV: 'production' });
    expect(image.exposed).toEqual([String(port)]);
  });

  it(
    'runs klue start: /ping answers, a task reaches the worker, the HEALTHCHECK passes, SIGTERM exits 0',
    async () => {
      const runtime = { REDIS_URL: inject('redisUrl'), LOG_LEVEL: 'info', ...secrets };
      const server = runInImage(image.cmd!, runtime);
      let output = '';
      server.stdout?.on('data', (b: Buffer) => (output += b.toString()));
      server.stderr?.on('data', (b: Buffer) => (output += b.toString()));
      try {
        let ping: Response | undefined;
        await waitFor(async () => {
          if (server.exitCode !== null) throw new Error(`klue start exited (${server.exitCode}):\n${output}`);
          ping = await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined);
          return ping !== undefined;
        }, 90_000, 'klue start to answer /ping');
        expect(ping?.status).toBe(200);
        expect(await ping?.json()).toEqual({});
        // The server answers as soon as it listens; its own "listening" line may reach the pipe a moment later.
        await waitFor(() => /"env":"production"|hello listening/.test(output), 10_000, 'the server to log that it is listening');

        // klue start runs the worker too, as the original image did.
        const answer = (await (await fetch(`http://127.0.0.1:${port}/async`)).json()) as { message: string };
        const code = /Writing code (\S+) to/.exec(answer.message)?.[1];
        expect(code).toBeDefined();
        await waitFor(() => existsSync(uuidFile) && readFileSync(uuidFile, 'utf8') === code, 60_000, 'the worker to run the task');

        expect(await exitOf(runInImage(image.healthcheck!, {}))).toBe(0);

        server.kill('SIGTERM');
        expect(await exitOf(server)).toBe(0);
        // The probe fails once the server is gone, so the passing probe above meant something.
        expect(await exitOf(runInImage(image.healthcheck!, {}))).toBe(1);
      } finally {
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
      }
    },
    180_000,
  );
});
