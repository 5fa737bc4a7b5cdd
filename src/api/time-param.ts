import { parseTimestamp } from '../domain/parse-timestamp.js'
import { ValidationError } from '../errors.js'

/** A `TimeParam` query value as an ISO 8601 UTC time, or a 400 naming `field`. */
export function parseTimeParam(field: string, value: string): string {
  const parsed = parseTimestamp(value)
  if (parsed === undefined)
    throw new ValidationError(field, `${field} ${JSON.stringify(value)} is not a date or date-time`)
  return parsed
}
