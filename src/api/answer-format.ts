import type { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { StringEnum } from './schemas.js'

/** What a list route answers: its JSON page, or every matching row as a CSV stream. */
export const ANSWER_FORMATS = ['json', 'csv'] as const
export type AnswerFormat = (typeof ANSWER_FORMATS)[number]

export const FormatParam = StringEnum(ANSWER_FORMATS, {
  description:
    'json (default): one page; csv: every matching row (or `limit` rows) streamed as text/csv. Accept: text/csv asks for csv too',
})

const TEXT_CSV = /text\/csv/i

/**
 * `format` when given, else what `Accept` prefers. A list route's hot path: a request without
 * `text/csv` in its Accept header (no header, `*\/*`, `application/json`) costs one short regex test.
 * CSV is chosen when `text/csv` is acceptable (q > 0) and ranks above `application/json`, or JSON
 * is not named at all; a tie goes to JSON, the default.
 */
export function answerFormat(format: AnswerFormat | undefined, accept: string | undefined): AnswerFormat {
  if (format !== undefined) return format
  if (accept === undefined || !TEXT_CSV.test(accept)) return 'json'
  const csv = qualityOf(accept, 'text/csv') ?? 0
  const json = qualityOf(accept, 'application/json')
  return csv > 0 && (json === undefined || csv > json) ? 'csv' : 'json'
}

/** The q value `accept` gives exactly `type` (parameters aside), or undefined when it does not name it. */
function qualityOf(accept: string, type: string): number | undefined {
  for (const range of accept.split(',')) {
    const [name, ...parameters] = range.split(';')
    if (name?.trim().toLowerCase() !== type) continue
    const q = parameters.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('q='))
    const value = q === undefined ? 1 : Number(q.slice(2))
    return Number.isFinite(value) ? value : 0
  }
  return undefined
}

/** Sends `body` (a CSV stream) as an attachment named `filename`. */
export function sendCsvAttachment(reply: FastifyReply, filename: string, body: Readable): FastifyReply {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(body)
}
