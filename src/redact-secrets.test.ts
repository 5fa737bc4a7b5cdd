import { describe, expect, it } from 'vitest'
import { redactSecrets, redactUrl } from './redact-secrets.js'

describe('redactUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/coinpipe', 'postgres://app:[redacted]@db:5432/coinpipe'],
    [
      'postgresql://app:p@ss@db/coinpipe?sslmode=require',
      'postgresql://app:[redacted]@db/coinpipe?sslmode=require',
    ],
    ['redis://:hunter2@cache:6379', 'redis://:[redacted]@cache:6379'],
    [
      'https://api.coingecko.com/api/v3/coins/markets?vs_currency=usd&x_cg_demo_api_key=CG-abc',
      'https://api.coingecko.com/api/v3/coins/markets?vs_currency=usd&x_cg_demo_api_key=[redacted]',
    ],
    [
      '/api/v1/records?api_key=abc&limit=5&token=t0k',
      '/api/v1/records?api_key=[redacted]&limit=5&token=[redacted]',
    ],
    ['https://x.test/a?KEY=abc#top', 'https://x.test/a?KEY=[redacted]#top'],
  ])('blanks the secret in %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })

  it.each([
    'postgres://postgres@127.0.0.1:5432/postgres',
    'sqlite:data/coinpipe.db',
    'http://127.0.0.1:8081/coingecko?monkey=1&page=2',
    'https://api.coinpaprika.com/v1/tickers?quotes=USD',
  ])('leaves %s as it is', (url) => {
    expect(redactUrl(url)).toBe(url)
  })
})

describe('redactSecrets', () => {
  it('finds URLs inside text and JSON, and keeps the JSON valid', () => {
    const line = JSON.stringify({
      msg: 'cannot connect to postgres://u:pw@h/db',
      url: 'http://h/p?token=abc"def',
    })
    const redacted = redactSecrets(line)
    expect(redacted).not.toContain('pw@')
    expect(redacted).not.toContain('abc')
    expect(JSON.parse(redacted)).toEqual({
      msg: 'cannot connect to postgres://u:[redacted]@h/db',
      url: 'http://h/p?token=[redacted]"def',
    })
  })
})
