import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyService, helloworldDir, type ServiceDir } from '../helpers/service-dir.js';
import { instructions, parseDockerfile, type Stage } from './dockerfile-parser.js';
import { klueDeploy, readDeployFiles } from './generate.js';

let svc: ServiceDir;
let text: string;
let stages: Stage[];

beforeAll(async () => {
  svc = copyService(helloworldDir);
  expect((await klueDeploy(['init', '--port', '9090', '--node', '22'], svc.dir)).code).toBe(0);
  text = readDeployFiles(svc.dir).Dockerfile!;
  stages = parseDockerfile(text);
}, 60_000);
afterAll(() => svc.cleanup());

describe('the generated Dockerfile', () => {
  it('is multi-stage on the requested slim Node image', () => {
    expect(stages.length).toBe(2);
    expect(stages.map((s) => s.from)).toEqual(['node:22-bookworm-slim', 'node:22-bookworm-slim']);
    expect(stages[0]!.name).toBe('deps');
  });

  it('installs production dependencies from the manifest and lockfile alone, so source edits keep the layer cached', () => {
    const deps = stages[0]!;
    expect(deps.instructions.map((i) => `${i.keyword} ${i.args}`)).toEqual([
      'WORKDIR /app',
      'COPY package.json package-lock.json ./',
      'RUN npm ci --omit=dev',
    ]);
  });

  it('runs the final stage as the non-root node user, in production, on the port', () => {
    const final = stages[1]!;
    const keywords = final.instructions.map((i) => i.keyword);
    expect(instructions(final, 'USER').map((i) => i.args)).toEqual(['node']);
    expect(keywords.indexOf('USER')).toBeLessThan(keywords.indexOf('CMD'));
    expect(instructions(final, 'ENV').map((i) => i.args)).toEqual(['NODE_ENV=production']);
    expect(instructions(final, 'EXPOSE').map((i) => i.args)).toEqual(['9090']);
    const copies = instructions(final, 'COPY');
    expect(copies).toContainEqual(expect.objectContaining({ flags: { from: 'deps' }, args: '/app/node_modules ./node_modules' }));
    expect(copies).toContainEqual(expect.objectContaining({ args: '. .' }));
  });

  it('checks health on /ping with node itself (slim images have no curl)', () => {
    const [health] = instructions(stages[1]!, 'HEALTHCHECK');
    expect(health?.exec?.slice(0, 2)).toEqual(['node', '-e']);
    expect(health?.exec?.[2]).toContain("fetch('http://127.0.0.1:9090/ping')");
    expect(health?.flags).toMatchObject({ interval: '30s', timeout: '5s' });
  });

  it('starts server and workers together with klue start, in exec form so SIGTERM reaches klue', () => {
    const [cmd] = instructions(stages[1]!, 'CMD');
    expect(cmd?.exec).toEqual(['node', 'node_modules/klue/bin/klue.js', 'start', '--port', '9090']);
  });

  it('names the runtime secrets only in comments, never as ENV', () => {
    for (const name of ['REDIS_URL', 'PYM_JWT_SECRET', 'KLUE_ASYNC_SECRET']) {
      expect(text).toMatch(new RegExp(`^#\\s+ENV ${name}=`, 'm'));
      expect(text).not.toMatch(new RegExp(`^ENV ${name}`, 'm'));
    }
  });
});
