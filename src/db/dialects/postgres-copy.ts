import { finished } from 'node:stream/promises'
import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/**
 * A `COPY … FROM STDIN` and the text its rows travel as. Passed through Kysely as a query's only
 * parameter (`sql\`${copy}\``), so it runs on the connection of the transaction it belongs to; the
 * pool below recognises it and streams the text instead of sending a statement.
 */
export class CopyFromStdin {
  constructor(
    readonly statement: string,
    readonly text: string,
  ) {}
}

/**
 * The pg pool as Kysely sees it, with `COPY … FROM STDIN` added: a query whose only parameter is a
 * `CopyFromStdin` is run through pg-copy-streams and answers with the rows copied.
 */
export function poolWithCopy(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect()
      const query = (textOrCursor: unknown, parameters?: readonly unknown[]) => {
        const copy = parameters?.length === 1 ? parameters[0] : undefined
        if (copy instanceof CopyFromStdin) return copyIn(client, copy)
        return (client.query as (...args: unknown[]) => unknown)(textOrCursor, parameters)
      }
      return { query, release: () => client.release() } as unknown as PostgresPoolClient
    },
    end: () => pool.end(),
  }
}

async function copyIn(client: pg.PoolClient, copy: CopyFromStdin) {
  const stream = client.query(copyFrom(copy.statement))
  stream.end(copy.text)
  await finished(stream)
  return { command: 'COPY' as const, rowCount: stream.rowCount, rows: [] }
}

/** A value in COPY's text format: `\N` for null, and text with its backslashes, tabs and line breaks escaped. */
export function copyValue(value: string | number | null): string {
  if (value === null) return '\\N'
  if (typeof value === 'number') return String(value)
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, (c) => ESCAPES[c]!) : value
}

const NEEDS_ESCAPE = /[\\\t\n\r]/
const ESCAPED = /[\\\t\n\r]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }
