import type { Cluster, Redis } from 'ioredis';

/**
 * What workers know of every envelope they ran, so that an envelope is single-use: how many
 * runs it had, and whether it finished (completed, or failed for good). A job holding an
 * envelope that finished is refused, also when the first job was deleted and the same id
 * re-added; a job run more often than its signed attempts allow (plus the re-runs of a job
 * whose worker died) is refused too.
 */
export interface RunLedger {
  /** Counts a run; resolves to its number (1 for the first), or FINISHED once the envelope finished. */
  claim(queue: string, envelopeId: string, expireAt: number): Promise<number>;
  /** Records that the envelope finished: no run of it is taken again. */
  finish(queue: string, envelopeId: string, expireAt: number): Promise<void>;
  /** Un-counts a run that does not count (put back in the queue at shutdown). */
  release(queue: string, envelopeId: string, expireAt: number): Promise<void>;
  /** Forgets the envelope's runs: an operator's retry of a job that failed for good (`klue queue retry`). */
  grant(queue: string, envelopeId: string, expireAt: number): Promise<void>;
}

export const FINISHED = -1;

/** Records live in hourly buckets: one hash per queue and hour of expiry, dropped as a whole. */
const BUCKET_MS = 3_600_000;
/** A record outlives its envelope's expiry by this much, for clocks that disagree. */
const CLOCK_MARGIN_MS = 3_600_000;

/**
 * KEYS: per operation, its bucket hash. ARGV: per operation, its kind (c claim, f finish,
 * r release, g grant), the envelope id and the bucket's expiry (ms since the epoch).
 * Reply: per operation, the run count after it, or -1 for a finished envelope.
 */
const LEDGER_LUA = `
local rcall = redis.call
local out = {}
local expiring = {}
for i = 1, #KEYS do
  local key, kind, id = KEYS[i], ARGV[3 * i - 2], ARGV[3 * i - 1]
  local n
  if kind == "f" then
    rcall("HSET", key, id, -1)
    n = -1
  elseif kind == "g" then
    rcall("HDEL", key, id)
    n = 0
  else
    n = tonumber(rcall("HGET", key, id) or "0")
    if n >= 0 then
      if kind == "c" then n = n + 1 elseif n > 0 then n = n - 1 end
      rcall("HSET", key, id, n)
    end
  end
  if not expiring[key] then
    expiring[key] = true
    rcall("PEXPIREAT", key, ARGV[3 * i])
  end
  out[i] = n
end
return out
`;

const COMMAND = 'klueRunLedger';
type LedgerRedis = (Redis | Cluster) & { [COMMAND](...args: (string | number)[]): Promise<number[]> };

interface Op {
  kind: 'c' | 'f' | 'r' | 'g';
  key: string;
  id: string;
  expireAt: number;
  resolve(n: number): void;
  reject(err: unknown): void;
}

/**
 * The ledger in Redis, beside the queue's own keys (same hash slot, for Redis Cluster), on the
 * queue's own client. Claims made in one turn of the event loop go to Redis as one command per
 * queue: a busy worker pays one round trip for many runs. Every other operation is written at
 * once, on the same connection as BullMQ's commands for the queue, so Redis runs it before any
 * command the worker sends after it (the job's completion): a run need not wait for its record
 * to be acknowledged before it completes its job.
 */
export class RedisRunLedger implements RunLedger {
  private readonly pending = new Map<string, Op[]>();
  private readonly clients = new Map<string, LedgerRedis>();
  private scheduled: NodeJS.Immediate | undefined;

  /**
   * @param keyPrefix the queue's key prefix (`klue:<service>:{<queue>}`)
   * @param client the queue's non-blocking Redis client
   */
  constructor(
    private readonly keyPrefix: (queue: string) => string,
    private readonly client: (queue: string) => Promise<Redis | Cluster>,
  ) {}

  claim(queue: string, envelopeId: string, expireAt: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let ops = this.pending.get(queue);
      if (!ops) this.pending.set(queue, (ops = []));
      ops.push(this.op(queue, 'c', envelopeId, expireAt, resolve, reject));
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  async finish(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    await this.now(queue, 'f', envelopeId, expireAt);
  }

  async release(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    await this.now(queue, 'r', envelopeId, expireAt);
  }

  async grant(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    await this.now(queue, 'g', envelopeId, expireAt);
  }

  private op(queue: string, kind: Op['kind'], id: string, expireAt: number, resolve: Op['resolve'], reject: Op['reject']): Op {
    const bucket = Math.floor((expireAt + CLOCK_MARGIN_MS) / BUCKET_MS) + 1;
    return { kind, key: `${this.keyPrefix(queue)}:runs:${bucket}`, id, expireAt: bucket * BUCKET_MS, resolve, reject };
  }

  /** One operation, written before this returns when the queue's client is known (always, once a run was claimed). */
  private now(queue: string, kind: Op['kind'], id: string, expireAt: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const ops = [this.op(queue, kind, id, expireAt, resolve, reject)];
      const redis = this.clients.get(queue);
      if (redis) this.write(redis, ops);
      else void this.send(queue, ops);
    });
  }

  private flush(): void {
    this.scheduled = undefined;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [queue, ops] of batches) void this.send(queue, ops);
  }

  private async send(queue: string, ops: Op[]): Promise<void> {
    let redis = this.clients.get(queue);
    if (!redis) {
      try {
        redis = (await this.client(queue)) as LedgerRedis;
      } catch (err) {
        for (const op of ops) op.reject(err);
        return;
      }
      if (typeof redis[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: LEDGER_LUA });
      this.clients.set(queue, redis);
    }
    this.write(redis, ops);
  }

  /** Sends the command now (ioredis writes it, or queues it in order while reconnecting). */
  private write(redis: LedgerRedis, ops: Op[]): void {
    const args: (string | number)[] = [ops.length];
    for (const op of ops) args.push(op.key);
    for (const op of ops) args.push(op.kind, op.id, op.expireAt);
    redis[COMMAND](...args).then(
      (reply) => ops.forEach((op, i) => op.resolve(Number(reply[i]))),
      (err: unknown) => ops.forEach((op) => op.reject(err)),
    );
  }
}

/** The ledger of one process (inline mode, tests): the same rules, in memory. */
export class MemoryRunLedger implements RunLedger {
  private readonly runs = new Map<string, { n: number; expireAt: number }>();

  private entry(queue: string, id: string, expireAt: number): { n: number; expireAt: number } {
    if (this.runs.size >= 10_000) {
      const now = Date.now();
      for (const [k, e] of this.runs) if (e.expireAt + CLOCK_MARGIN_MS < now) this.runs.delete(k);
    }
    const key = `${queue}\n${id}`;
    let e = this.runs.get(key);
    if (!e) this.runs.set(key, (e = { n: 0, expireAt }));
    return e;
  }

  async claim(queue: string, envelopeId: string, expireAt: number): Promise<number> {
    const e = this.entry(queue, envelopeId, expireAt);
    if (e.n !== FINISHED) e.n++;
    return e.n;
  }

  async finish(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    this.entry(queue, envelopeId, expireAt).n = FINISHED;
  }

  async release(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    const e = this.entry(queue, envelopeId, expireAt);
    if (e.n > 0) e.n--;
  }

  async grant(queue: string, envelopeId: string): Promise<void> {
    this.runs.delete(`${queue}\n${envelopeId}`);
  }
}
