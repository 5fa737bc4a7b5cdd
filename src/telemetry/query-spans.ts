import type { Db, QueryEvent } from '../db/database.js'
import { recordFinishedSpan, spanActive } from './tracing.js'

/** Statement text kept on a span: a multi-row insert's placeholders can run to megabytes. */
const MAX_TEXT_CHARS = 2_000

// Leading whitespace and comments, then the first keyword.
const FIRST_KEYWORD = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/
// The first table named after FROM, INTO, UPDATE or JOIN, quoted or not, maybe schema-qualified.
const TABLE = /\b(?:from|into|update|join)\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)/i

/**
 * One CLIENT span per statement run through Kysely (and per bulk write a dialect reports), under
 * the span active when it ran: `db.system.name`, `db.operation.name`, `db.collection.name` and the
 * SQL text with its placeholders, never the values bound to them. Statements outside any trace (a
 * migration, a poll) get none. Returns how to stop.
 */
export function traceQueries(db: Pick<Db, 'kind' | 'observeQueries'>): () => void {
  const system = db.kind === 'sqlite' ? 'sqlite' : 'postgresql'
  return db.observeQueries((event) => {
    if (!spanActive()) return
    const text = statementText(event)
    const operation = FIRST_KEYWORD.exec(text)?.[1]?.toUpperCase()
    const table = tableOf(text)
    recordFinishedSpan(operation ? (table ? `${operation} ${table}` : operation) : system, {
      kind: 'client',
      durationMs: event.durationMs,
      failed: event.failed,
      attributes: {
        'db.system.name': system,
        'db.query.text': text,
        ...(operation ? { 'db.operation.name': operation } : {}),
        ...(table ? { 'db.collection.name': table } : {}),
      },
    })
  })
}

/** The SQL text, cut to MAX_TEXT_CHARS; a PostgreSQL `COPY` is its statement, not Kysely's `$1`. */
function statementText({ query }: QueryEvent): string {
  const first: unknown = query.parameters.length === 1 ? query.parameters[0] : undefined
  // postgres-copy.ts's CopyFromStdin, recognised by its shape: importing it would load pg-copy-streams.
  const copy =
    typeof first === 'object' && first !== null && 'statement' in first ? first.statement : undefined
  const text = typeof copy === 'string' ? copy : query.sql
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}…` : text
}

function tableOf(text: string): string | undefined {
  return TABLE.exec(text)?.[1]?.split('.').pop()?.replaceAll('"', '')
}
