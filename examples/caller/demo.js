/* global process, console, fetch */
// `npm run example:caller`: starts helloworld (:8080) and this caller (:8081), each with its
// worker, calls the caller as user ann, prints what came back, and keeps both serving until Ctrl-C.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateToken, loadConfig } from '../../dist/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', '..', 'bin', 'klue.js');
const helloPort = Number(process.env.HELLO_PORT ?? 8080);
const callerPort = Number(process.env.PORT ?? 8081);
process.env.PYM_JWT_SECRET ??= 'dev-only-secret';
process.env.HELLOWORLD_URL = `http://127.0.0.1:${helloPort}`;

/** Starts `klue start` in a service folder; resolves once it logs `<name> listening`. Prints its task and client lines. */
function start(dir, name, port) {
  // A process group of its own: Ctrl-C reaches the demo alone, which passes one SIGTERM on.
  // In the terminal's group a service would get the SIGINT and then the SIGTERM, and take the
  // second signal as "exit now" instead of shutting down gracefully.
  const child = spawn(process.execPath, [bin, 'start', '--port', String(port)], { cwd: join(here, '..', dir), stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    let buf = '';
    child.stdout.on('data', (b) => {
      buf += b.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let line;
        try {
          line = JSON.parse(text);
        } catch {
          continue;
        }
        if (line.msg === `${name} listening`) resolve(child);
        if (line.msg === 'helloworld answered the task' || line.msg === 'wrote code' || line.msg?.startsWith('client call failed')) {
          console.log(`[${name}] ${line.msg} (req_id ${line.req_id}, user ${line.user_id ?? '-'}${line.said ? `, said '${line.said}'` : ''})`);
        }
      }
    });
  });
}

const children = [await start('helloworld', 'hello', helloPort), await start('caller', 'caller', callerPort)];
const stop = () => {
  for (const c of children) c.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const config = await loadConfig({ dir: here });
const token = await generateToken({ userId: 'ann', config: config.jwt });
for (const path of ['/greet', '/greet/later']) {
  const res = await fetch(`http://127.0.0.1:${callerPort}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': `demo${path.replaceAll('/', '-')}` } });
  console.log(`GET ${path} as ann -> ${res.status} ${await res.text()}`);
}
console.log(`helloworld on :${helloPort}, caller on :${callerPort}; Ctrl-C stops both`);
