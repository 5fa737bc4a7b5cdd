import { describe, expect, it } from 'vitest'
import { anAsset, nodeOf, refOf, RESOLVE_OPTIONS } from '../../test/helpers/identity-builders.js'
import { buildNodes } from './build-nodes.js'

describe('buildNodes', () => {
  it('orders nodes by catalog priority, then source and id, whatever order the evidence arrives in', () => {
    const evidence = [
      anAsset('manual', 'AAA'),
      anAsset('coinpaprika', 'a-alpha'),
      anAsset('csv', 'AAA'),
      anAsset('coingecko', 'zeta'),
      anAsset('coingecko', 'alpha'),
    ]
    const order = buildNodes(evidence, RESOLVE_OPTIONS).sorted.map(refOf)
    expect(order).toEqual([
      'coingecko:alpha',
      'coingecko:zeta',
      'coinpaprika:a-alpha',
      'csv:AAA',
      'manual:AAA',
    ])
    expect(buildNodes([...evidence].reverse(), RESOLVE_OPTIONS).sorted.map(refOf)).toEqual(order)
  })

  it('lets a catalog asset join by symbol or price only while active, ranked and with a market cap', () => {
    const nodes = buildNodes(
      [
        anAsset('coingecko', 'live'),
        anAsset('coingecko', 'dead', { active: false }),
        anAsset('coingecko', 'unranked', { rank: null }),
        anAsset('coinpaprika', 'no-cap', { marketCapUsd: null }),
        anAsset('csv', 'AAA', { active: false, rank: null, marketCapUsd: null }),
      ],
      RESOLVE_OPTIONS,
    )
    const eligible = Object.fromEntries(nodes.sorted.map((n) => [refOf(n), n.eligible]))
    expect(eligible).toEqual({
      'coingecko:dead': false,
      'coingecko:live': true,
      'coingecko:unranked': false,
      'coinpaprika:no-cap': false,
      'csv:AAA': true,
    })
    expect(nodeOf(nodes, 'csv:AAA').catalog).toBe(false)
    expect(nodeOf(nodes, 'coinpaprika:no-cap').catalog).toBe(true)
  })

  it('keeps one node per source asset: the last row given for it', () => {
    const nodes = buildNodes(
      [anAsset('coingecko', 'alpha', { priceUsd: 1 }), anAsset('coingecko', 'alpha', { priceUsd: 2 })],
      RESOLVE_OPTIONS,
    )
    expect(nodes.sorted).toHaveLength(1)
    expect(nodeOf(nodes, 'coingecko:alpha').evidence.priceUsd).toBe(2)
  })
})
