import { CATALOGUE, syntheticCoin, type CatalogueCoin } from './catalogue.js'

/**
 * Ground truth for identity: which real-world coin each source id stands for. A catalogue coin is
 * one coin whatever its ids; CSV rows of the identity fixture are labelled here by hand.
 */
export function truthKey(coin: CatalogueCoin): string {
  return coin.coingecko?.id ?? coin.coinpaprika!.id
}

/** `source:source_asset_id` → the coin it truly is, for the catalogue and `count` synthetic coins. */
export function catalogueTruth(syntheticCount = 0): Map<string, string> {
  const truth = new Map<string, string>()
  const coins = [...CATALOGUE, ...Array.from({ length: syntheticCount }, (_, i) => syntheticCoin(i + 1))]
  for (const coin of coins) {
    if (coin.coingecko) truth.set(`coingecko:${coin.coingecko.id}`, truthKey(coin))
    if (coin.coinpaprika) truth.set(`coinpaprika:${coin.coinpaprika.id}`, truthKey(coin))
  }
  return truth
}

/**
 * The CSV rows of `test/fixtures/csv/identity-prices.csv` by CSV source id (`SYMBOL:name` or the
 * bare symbol). `TON` has only a symbol and two ranked candidates (Toncoin, Tokamak Network), so the
 * truth is unknowable from the row: it is its own coin here, and a resolver that guesses is wrong.
 */
export const IDENTITY_CSV_TRUTH: ReadonlyMap<string, string> = new Map([
  ['csv:BTC:bitcoin', 'bitcoin'],
  ['csv:ETH:ethereum', 'ethereum'],
  ['csv:BNB:binance coin', 'binancecoin'],
  ['csv:MIOTA:iota', 'iota'],
  ['csv:LEO:unus sed leo', 'leo-token'],
  ['csv:AXL:axelar', 'axelar'],
  ['csv:AXL:axl inu', 'axl-inu'],
  ['csv:ONE:harmony', 'harmony'],
  ['csv:ONE:1 (one)', '1-one'],
  ['csv:TON', 'csv:TON'],
  ['csv:DOGE', 'dogecoin'],
  ['csv:ATOM:cosmos', 'cosmos'],
  ['csv:ZZZ:zeta zed coin', 'csv:ZZZ'],
])

/** Pairwise precision and recall of `found` (source asset → asset id) against `truth`. */
export function pairwiseAccuracy(
  found: ReadonlyMap<string, string>,
  truth: ReadonlyMap<string, string>,
): { precision: number; recall: number; truePairs: number; foundPairs: number; correctPairs: number } {
  const keys = [...found.keys()].filter((k) => truth.has(k)).sort()
  let truePairs = 0
  let foundPairs = 0
  let correctPairs = 0
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const same = truth.get(keys[i]!) === truth.get(keys[j]!)
      const joined = found.get(keys[i]!) === found.get(keys[j]!)
      if (same) truePairs++
      if (joined) foundPairs++
      if (same && joined) correctPairs++
    }
  }
  return {
    precision: foundPairs === 0 ? 1 : correctPairs / foundPairs,
    recall: truePairs === 0 ? 1 : correctPairs / truePairs,
    truePairs,
    foundPairs,
    correctPairs,
  }
}
