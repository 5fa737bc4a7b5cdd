import { finished } from 'node:stream/promises'
import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/**
 * A `COPY … FROM STDIN` and the data its rows travel as. Passed through Kysely as a query's only
 * parameter (`sql\`${copy}\``), so it runs on the connection of the transaction it belongs to; the
 * pool below recognises it and streams the data instead of sending a statement.
 */
export class CopyFromStdin {
  constructor(
    readonly statement: string,
    readonly data: Buffer,
  ) {}
}

/**
 * The pg pool as Kysely sees it, with `COPY … FROM STDIN` added: a query whose only parameter is a
 * `CopyFromStdin` is run through pg-copy-streams and answers with the rows copied.
 */
export function poolWithCopy(pool: pg.Pool): PostgresPool {
  // One wrapper per pooled connection, so Kysely (which keys its connection objects by client)
  // reuses its own for the connection's life instead of making one per query.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const query = (textOrCursor: unknown, parameters?: readonly unknown[]) => {
      const copy = parameters?.length === 1 ? parameters[0] : undefined
      if (copy instanceof CopyFromStdin) return copyIn(client, copy)
      return (client.query as (...args: unknown[]) => unknown)(textOrCursor, parameters)
    }
    return { query, release: () => client.release() } as unknown as PostgresPoolClient
  }
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect()
      let wrapper = wrappers.get(client)
      if (wrapper === undefined) wrappers.set(client, (wrapper = wrap(client)))
      return wrapper
    },
    end: () => pool.end(),
  }
}

async function copyIn(client: pg.PoolClient, copy: CopyFromStdin) {
  const stream = client.query(copyFrom(copy.statement))
  stream.end(copy.data)
  await finished(stream)
  return { command: 'COPY' as const, rowCount: stream.rowCount, rows: [] }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
/** 2000-01-01T00:00:00Z, PostgreSQL's epoch for binary timestamps, in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000
const TWO_TO_32 = 2 ** 32

/**
 * Rows in COPY's binary format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4):
 * numbers are written as the 8 bytes of their double and times as microseconds, so nothing is
 * turned into text per value, which on a million rows was ten million short-lived strings.
 */
export class BinaryCopyWriter {
  private buffer = Buffer.allocUnsafe(1 << 16)
  private at = 0
  /** Text already encoded in this batch: asset ids repeat on every row of an asset. */
  private readonly texts = new Map<string, Buffer>()
  /** Observation times already parsed in this batch: a file's rows share their dates. */
  private readonly times = new Map<string, number>()

  constructor() {
    this.reserve(SIGNATURE.length + 8)
    this.at += SIGNATURE.copy(this.buffer, this.at)
    this.at = this.buffer.writeInt32BE(0, this.at) // flags
    this.at = this.buffer.writeInt32BE(0, this.at) // header extension length
  }

  row(fields: number): this {
    this.reserve(2)
    this.at = this.buffer.writeInt16BE(fields, this.at)
    return this
  }

  int4(value: number | null): this {
    if (value === null) return this.null()
    this.reserve(8)
    this.at = this.buffer.writeInt32BE(4, this.at)
    this.at = this.buffer.writeInt32BE(value, this.at)
    return this
  }

  float8(value: number | null): this {
    if (value === null) return this.null()
    this.reserve(12)
    this.at = this.buffer.writeInt32BE(8, this.at)
    this.at = this.buffer.writeDoubleBE(value, this.at)
    return this
  }

  text(value: string | null): this {
    if (value === null) return this.null()
    let bytes = this.texts.get(value)
    if (bytes === undefined) this.texts.set(value, (bytes = Buffer.from(value, 'utf8')))
    this.reserve(4 + bytes.length)
    this.at = this.buffer.writeInt32BE(bytes.length, this.at)
    this.at += bytes.copy(this.buffer, this.at)
    return this
  }

  /** An ISO 8601 time, as `timestamptz`: microseconds since 2000-01-01 UTC, in 8 bytes. */
  timestamptz(iso: string): this {
    let ms = this.times.get(iso)
    if (ms === undefined) {
      ms = Date.parse(iso)
      if (Number.isNaN(ms)) throw new Error(`not a time: ${iso}`)
      this.times.set(iso, ms)
    }
    const micros = (ms - PG_EPOCH_MS) * 1000
    const high = Math.floor(micros / TWO_TO_32)
    this.reserve(12)
    this.at = this.buffer.writeInt32BE(8, this.at)
    this.at = this.buffer.writeInt32BE(high, this.at)
    this.at = this.buffer.writeUInt32BE(micros - high * TWO_TO_32, this.at)
    return this
  }

  /** The rows written, with the trailer that ends them. */
  finish(): Buffer {
    this.reserve(2)
    this.at = this.buffer.writeInt16BE(-1, this.at)
    return this.buffer.subarray(0, this.at)
  }

  private null(): this {
    this.reserve(4)
    this.at = this.buffer.writeInt32BE(-1, this.at)
    return this
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes))
    this.buffer.copy(grown, 0, 0, this.at)
    this.buffer = grown
  }
}
