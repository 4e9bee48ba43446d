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
export const BUCKET_MS = 3_600_000;
/** A record outlives its envelope's expiry by this much, for clocks that disagree. */
export const CLOCK_MARGIN_MS = 3_600_000;

/**
 * Stored for an envelope that finished. Far below any run count, so a claim's HINCRBY on it
 * still answers a negative number, and a release's HINCRBY -1 cannot bring it back.
 */
export const FINISHED_MARK = -1_000_000_000;

/**
 * The ledger in Redis, beside the queue's own keys (same hash slot, for Redis Cluster). A
 * worker's runs are counted and finished inside BullMQ's scripts (ledger-scripts.ts, the same
 * keys and marks); these commands serve the rest: releases, operators' retries, runs of jobs
 * those scripts could not read. One plain hash command per operation, on a connection of its
 * own that pipelines the commands of one turn (the `ledger` connection role). Not on BullMQ's
 * client: BullMQ wraps it, and its pipelines read `hset(key, field, value)` as `hset(key, object)`.
 */
export class RedisRunLedger implements RunLedger {
  private readonly clients = new Map<string, Redis | Cluster>();
  /** Bucket hashes whose expiry this process has set: once per hash, not once per run. */
  private readonly expiring = new Set<string>();

  /**
   * @param keyPrefix the queue's key prefix (`klue:<service>:{<queue>}`)
   * @param client the Redis client of the queue's ledger
   */
  constructor(
    private readonly keyPrefix: (queue: string) => string,
    private readonly client: (queue: string) => Promise<Redis | Cluster>,
  ) {}

  async claim(queue: string, envelopeId: string, expireAt: number): Promise<number> {
    const n = await this.run(queue, expireAt, (redis, key) => redis.hincrby(key, envelopeId, 1));
    return n < 0 ? FINISHED : n;
  }

  async finish(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    await this.run(queue, expireAt, (redis, key) => redis.hset(key, envelopeId, FINISHED_MARK));
  }

  async release(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    await this.run(queue, expireAt, (redis, key) => redis.hincrby(key, envelopeId, -1));
  }

  async grant(queue: string, envelopeId: string, expireAt: number): Promise<void> {
    await this.run(queue, expireAt, (redis, key) => redis.hdel(key, envelopeId));
  }

  /**
   * Sends `command` on the bucket hash of `expireAt`: before this returns when the queue's
   * client is known (always, once a run was claimed), so commands keep the order of the calls.
   */
  private run(queue: string, expireAt: number, command: (redis: Redis | Cluster, key: string) => Promise<number>): Promise<number> {
    const bucket = Math.floor((expireAt + CLOCK_MARGIN_MS) / BUCKET_MS) + 1;
    const key = `${this.keyPrefix(queue)}:runs:${bucket}`;
    const send = (redis: Redis | Cluster): Promise<number> => {
      const reply = command(redis, key);
      if (!this.expiring.has(key)) {
        this.expiring.add(key);
        redis.pexpireat(key, bucket * BUCKET_MS).catch(() => this.expiring.delete(key));
      }
      return reply;
    };
    const redis = this.clients.get(queue);
    if (redis) return send(redis);
    return this.client(queue).then((r) => {
      this.clients.set(queue, r);
      return send(r);
    });
  }
}

/** The ledger of one process (inline mode, tests): the same rules, in memory. */
export class MemoryRunLedger implements RunLedger {
  private readonly runs = new Map<string, { n: number; expireAt: number }>();
  /** Size at which expired records are next dropped: twice what a sweep kept, so sweeps stay rare. */
  private sweepAt = 10_000;

  private entry(queue: string, id: string, expireAt: number): { n: number; expireAt: number } {
    if (this.runs.size >= this.sweepAt) {
      const now = Date.now();
      for (const [k, e] of this.runs) if (e.expireAt + CLOCK_MARGIN_MS < now) this.runs.delete(k);
      this.sweepAt = Math.max(10_000, this.runs.size * 2);
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
