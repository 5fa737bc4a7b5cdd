import { describe, expect, it } from 'vitest'
import { priceConsensus, type SourceQuote } from './price-consensus.js'

const HOUR = 3_600_000
const quote = (source: string, observedAt: string, priceUsd: number | null): SourceQuote => ({
  source,
  observedAt,
  priceUsd,
})

describe('priceConsensus', () => {
  it('has no consensus and no spread without quotes', () => {
    expect(priceConsensus([], HOUR)).toEqual({ staleSources: [], consensusPriceUsd: null, spreadPct: null })
  })

  it('takes a lone price as the consensus, with no spread', () => {
    expect(priceConsensus([quote('csv', '2024-03-01T00:00:00.000Z', 5)], HOUR)).toEqual({
      staleSources: [],
      consensusPriceUsd: 5,
      spreadPct: null,
    })
  })

  it('takes the middle price of an odd count and the mean of the middle two of an even count', () => {
    const at = '2024-03-01T00:00:00.000Z'
    const odd = [quote('a', at, 62_500), quote('b', at, 60_000), quote('c', at, 61_000)]
    expect(priceConsensus(odd, HOUR)).toEqual({
      staleSources: [],
      consensusPriceUsd: 61_000,
      spreadPct: 4.0984,
    })
    expect(priceConsensus([...odd, quote('d', at, 50_000)], HOUR)).toMatchObject({
      consensusPriceUsd: 60_500,
      spreadPct: 20.6612,
    })
  })

  it('leaves out sources that trail the newest observation by more than the lag, but not by exactly it', () => {
    const result = priceConsensus(
      [
        quote('manual', '2024-03-01T11:00:00.000Z', 100),
        quote('csv', '2024-03-01T08:00:00.000Z', 10),
        quote('coingecko', '2024-03-01T10:00:00.000Z', 102),
        quote('coinpaprika', '2024-03-01T07:59:59.999Z', 1),
      ],
      3 * HOUR,
    )
    expect(result).toEqual({ staleSources: ['coinpaprika'], consensusPriceUsd: 100, spreadPct: 92 })
  })

  it('ignores a fresh source without a price, and has no spread around a median of 0', () => {
    const at = '2024-03-01T00:00:00.000Z'
    expect(priceConsensus([quote('a', at, null), quote('b', at, 0), quote('c', at, 0)], HOUR)).toEqual({
      staleSources: [],
      consensusPriceUsd: 0,
      spreadPct: null,
    })
  })
})
