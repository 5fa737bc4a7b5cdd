import type { Redis } from 'ioredis'

/** Renews the key only while it still holds our token; returns 1 when renewed. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
/** Deletes the key only while it still holds our token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/**
 * The right to run one source, cluster-wide: a Redis key set only if absent, holding this worker's
 * token, expiring after `ttlMs` unless renewed. It is renewed every third of its life; when a
 * renewal finds the key gone or taken (this worker froze or lost Redis for longer than `ttlMs`),
 * `lost` is aborted, so the run stops after its batch in flight instead of running beside the
 * worker that now holds the lease. The database's one-running-run-per-source index stays the
 * last line behind it.
 */
export class SourceLease {
  private readonly lostController = new AbortController()
  private readonly timer: NodeJS.Timeout
  private renewedAt = Date.now()

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly token: string,
    private readonly ttlMs: number,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(ttlMs / 3)))
    this.timer.unref()
  }

  /** Aborted when the lease is lost before `release`. */
  get lost(): AbortSignal {
    return this.lostController.signal
  }

  /** Takes the lease, or resolves undefined while someone else holds it. */
  static async acquire(
    redis: Redis,
    key: string,
    token: string,
    ttlMs: number,
  ): Promise<SourceLease | undefined> {
    const taken = await redis.set(key, token, 'PX', ttlMs, 'NX')
    return taken === 'OK' ? new SourceLease(redis, key, token, ttlMs) : undefined
  }

  /** Who holds the lease on `key` now (the token), if anyone. */
  static holder(redis: Redis, key: string): Promise<string | null> {
    return redis.get(key)
  }

  async release(): Promise<void> {
    clearInterval(this.timer)
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined)
  }

  private async renew(): Promise<void> {
    try {
      const renewed = await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))
      if (renewed === 1) {
        this.renewedAt = Date.now()
        return
      }
    } catch {
      // Redis unreachable: the lease is ours until it would have expired; after that, assume not.
      if (Date.now() - this.renewedAt < this.ttlMs) return
    }
    clearInterval(this.timer)
    this.lostController.abort(new Error(`lease ${this.key} was lost`))
  }
}
