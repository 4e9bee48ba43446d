import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENVELOPE_VERSION } from '../envelope/envelope.js';
import { BUCKET_MS, CLOCK_MARGIN_MS, FINISHED, FINISHED_MARK } from './run-ledger.js';

/**
 * The run ledger's claim and finish, folded into BullMQ's own scripts so that they cost the
 * worker no command of their own: BullMQ's `moveToActive` and `moveToFinished` (the latter
 * also takes the next job) count the run of the klue envelope they hand out, and
 * `moveToFinished` records as finished the envelope of the job it completes or fails for good,
 * atomically with that completion. A separate command per run doubled a no-op task's worker CPU.
 *
 * This is the one place that knows BullMQ's script text. It inserts klue's Lua at two anchors
 * of the installed scripts; `test/async/ledger-scripts.test.ts` fails when an upgraded BullMQ
 * no longer has them. Without them (another BullMQ) the worker keeps BullMQ's scripts and the
 * ledger sends its own commands: slower, as safe.
 *
 * The Lua reads the envelope's id and expiry from the head of the job's data, where klue
 * writes them first (`{"v":3,"p":{"id":"…","exp":…,`); nothing there is trusted: the worker
 * takes the count only for data whose signature it then verifies and whose head names the
 * same id and expiry, and otherwise claims with a command as before.
 */

/** In `prepareJobForProcessing`, which both scripts include: the job is active and locked. */
const CLAIM = { before: '  rcall("HINCRBY", jobKey, "ats", 1)\n', insert: '  klueClaim(keyPrefix, jobKey)\n' };
/** In `moveToFinished`, past its checks (lock, active) and before the job's keys may be removed. */
const FINISH = { before: '    local attemptsMade = rcall("HINCRBY", jobIdKey, "atm", 1)\n', insert: '    klueFinish(ARGV[7], jobIdKey)\n' };
/** The BullMQ scripts changed, each with the anchors klue's Lua goes before. */
const PATCHES = [
  { script: 'moveToActive', anchors: [CLAIM] },
  { script: 'moveToFinished', anchors: [CLAIM, FINISH] },
];

/** The job hash field through which a claim's count reaches the worker with the job. */
export const CLAIM_FIELD = 'klr';

/** The head klue writes its envelopes' data with, as a Lua pattern capturing id and expiry. */
const HEAD_PATTERN = `^{"v":${ENVELOPE_VERSION},"p":{"id":"([%w%-]+)","exp":(%d+),`;

const LUA_FUNCTIONS = `
-- klue: the run ledger (src/tasks/transport/ledger-scripts.ts, run-ledger.ts)
local function klueRunsKey(keyPrefix, jobKey)
  local data = redis.call("HGET", jobKey, "data")
  if not data then return nil end
  local id, exp = string.match(data, '${HEAD_PATTERN}')
  if not id then return nil end
  local bucket = math.floor((tonumber(exp) + ${CLOCK_MARGIN_MS}) / ${BUCKET_MS}) + 1
  return keyPrefix .. "runs:" .. string.format("%d", bucket), id, string.format("%d", bucket * ${BUCKET_MS})
end
local function klueClaim(keyPrefix, jobKey)
  local key, id, expireAt = klueRunsKey(keyPrefix, jobKey)
  if not key then
    redis.call("HDEL", jobKey, "${CLAIM_FIELD}")
    return
  end
  local n = redis.call("HINCRBY", key, id, 1)
  if n == 1 then redis.call("PEXPIREAT", key, expireAt) end
  redis.call("HSET", jobKey, "${CLAIM_FIELD}", n)
end
local function klueFinish(keyPrefix, jobKey)
  local key, id, expireAt = klueRunsKey(keyPrefix, jobKey)
  if not key then return end
  redis.call("HSET", key, id, "${FINISHED_MARK}")
  redis.call("PEXPIREAT", key, expireAt)
end
`;

export interface LedgerScript {
  /** The command name BullMQ calls (`moveToActive:5.81.5`). */
  command: string;
  numberOfKeys: number;
  lua: string;
}

interface BullScript {
  name: string;
  content: string;
  keys: number;
}

let patched: Promise<LedgerScript[] | string> | undefined;

/**
 * BullMQ's two scripts with klue's Lua in, named as BullMQ defines them; or, when the installed
 * BullMQ's scripts lack an anchor, why not (and the worker claims with commands).
 */
export function ledgerScripts(): Promise<LedgerScript[] | string> {
  return (patched ??= build());
}

async function build(): Promise<LedgerScript[] | string> {
  const bullmqDir = dirname(createRequire(import.meta.url).resolve('bullmq/package.json'));
  const esm = join(bullmqDir, 'dist', 'esm');
  const [{ version }, scripts] = await Promise.all([
    import(pathToFileURL(join(esm, 'version.js')).href) as Promise<{ version: string }>,
    import(pathToFileURL(join(esm, 'scripts', 'index.js')).href) as Promise<Record<string, BullScript>>,
  ]);
  const out: LedgerScript[] = [];
  for (const patch of PATCHES) {
    const script = Object.values(scripts).find((s) => s.name === patch.script);
    if (!script) return `bullmq ${version} has no ${patch.script} script`;
    let lua = script.content;
    for (const anchor of patch.anchors) {
      const at = lua.indexOf(anchor.before);
      if (at < 0 || lua.indexOf(anchor.before, at + 1) >= 0) return `bullmq ${version}'s ${patch.script} script has not exactly one "${anchor.before.trim()}"`;
      lua = lua.slice(0, at) + anchor.insert + lua.slice(at);
    }
    out.push({ command: `${script.name}:${version}`, numberOfKeys: script.keys, lua: LUA_FUNCTIONS + lua });
  }
  return out;
}

/** What a client needs to run the patched scripts: ioredis' defineCommand (a Redis or a Cluster). */
export interface ScriptHost {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

/** Replaces BullMQ's definitions of the two scripts on a worker's client with klue's. */
export function defineLedgerScripts(client: ScriptHost, scripts: LedgerScript[]): void {
  for (const s of scripts) client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
}

/**
 * The run count the script gave a job (the `klr` field of its raw record), if the job was
 * fetched by klue's scripts and its data's head names this envelope: FINISHED for one that
 * already finished. `undefined` means the run must be claimed with a command.
 */
export function scriptClaim(raw: string | undefined, dataJson: string | undefined, id: string, exp: number): number | undefined {
  if (raw === undefined || dataJson === undefined) return undefined;
  if (!dataJson.startsWith(`{"v":${ENVELOPE_VERSION},"p":{"id":"${id}","exp":${exp},`)) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) return undefined;
  return n < 0 ? FINISHED : n;
}
