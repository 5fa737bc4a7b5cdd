/**
 * Reads an upstream error body in every documented form (upstream-apis.md §1.6, §2.6):
 * `{error: "…"}`, `{status: {error_code, error_message}}`, `{error: {status: {…}}}`, an HTML page
 * (Cloudflare), plain text (`Deprecated`) or nothing at all.
 */
export interface UpstreamErrorBody {
  /** One line, at most 300 characters, safe to log and store. */
  readonly message: string
  /** The upstream's own code, e.g. CoinGecko's `10002`. */
  readonly upstreamCode?: string
}

const MAX_MESSAGE = 300

export function parseUpstreamErrorBody(body: string): UpstreamErrorBody {
  const text = body.trim()
  if (text === '') return { message: 'empty body' }
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      return fromJson(JSON.parse(text))
    } catch {
      return { message: `unparsable JSON: ${oneLine(text)}` }
    }
  }
  if (/^<(!doctype|html|head|body)/i.test(text)) {
    const title =
      /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1]
    return { message: title ? `HTML page: ${oneLine(stripTags(title))}` : 'an HTML page' }
  }
  return { message: oneLine(text) }
}

function fromJson(value: unknown): UpstreamErrorBody {
  if (!isObject(value)) return { message: oneLine(JSON.stringify(value)) }
  const error = value.error
  if (typeof error === 'string') return { message: oneLine(error) }
  if (isObject(error)) return fromJson(error)
  const status = value.status
  if (isObject(status)) {
    const code = status.error_code
    const message = status.error_message
    return {
      message: typeof message === 'string' ? oneLine(message) : oneLine(JSON.stringify(status)),
      ...(typeof code === 'number' || typeof code === 'string' ? { upstreamCode: String(code) } : {}),
    }
  }
  if (typeof value.message === 'string') return { message: oneLine(value.message) }
  return { message: oneLine(JSON.stringify(value)) }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, ' ')
}

function oneLine(text: string): string {
  // Control characters never belong in a log line.
  const flat = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 1)}…` : flat
}
