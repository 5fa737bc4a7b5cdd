import { describe, expect, it } from 'vitest'
import { parseUpstreamErrorBody } from './upstream-error-body.js'

describe('parseUpstreamErrorBody reads every documented error body', () => {
  it.each([
    [
      'CoinPaprika {error}',
      '{"error":"you have reached maximum request limit"}',
      'you have reached maximum request limit',
      undefined,
    ],
    [
      'CoinGecko {status}',
      `{"status":{"error_code":429,"error_message":"You've exceeded the Rate Limit."}}`,
      "You've exceeded the Rate Limit.",
      '429',
    ],
    [
      'CoinGecko {error: {status}}',
      '{"error":{"status":{"timestamp":"2026-05-17T01:39:44.892+00:00","error_code":10012,"error_message":"Your request exceeds the allowed time range."}}}',
      'Your request exceeds the allowed time range.',
      '10012',
    ],
    [
      'Cloudflare HTML',
      '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>…</body></html>',
      'HTML page: Just a moment...',
      undefined,
    ],
    ['plain text', 'Deprecated', 'Deprecated', undefined],
    ['empty', '', 'empty body', undefined],
    ['truncated JSON', '{"error":"id no', 'unparsable JSON: {"error":"id no', undefined],
  ])('%s', (_name, body, message, upstreamCode) => {
    const parsed = parseUpstreamErrorBody(body)
    expect(parsed.message).toBe(message)
    expect(parsed.upstreamCode).toBe(upstreamCode)
  })

  it('keeps a long body to one line of at most 300 characters', () => {
    const parsed = parseUpstreamErrorBody(`line one\nline two ${'x'.repeat(1000)}`)
    expect(parsed.message.length).toBe(300)
    expect(parsed.message).not.toContain('\n')
  })
})
