import { Type } from 'typebox'
import { compilePayloadSchema } from '../payload-schema.js'

/**
 * One item of `GET /coins/markets` as documented (upstream-apis.md §2.2). Required here means
 * coinpipe reads it: its loss or a new type fails the batch. The other documented fields are
 * declared so that they are not reported as new; anything else is accepted and reported.
 */
const Num = Type.Union([Type.Number(), Type.Null()])
const Str = Type.Union([Type.String(), Type.Null()])

export const CoinGeckoMarket = Type.Object({
  id: Type.String(),
  symbol: Type.String(),
  name: Type.String(),
  image: Type.Optional(Str),
  current_price: Num,
  market_cap: Num,
  market_cap_rank: Type.Union([Type.Integer(), Type.Null()]),
  fully_diluted_valuation: Type.Optional(Num),
  total_volume: Num,
  high_24h: Type.Optional(Num),
  low_24h: Type.Optional(Num),
  price_change_24h: Type.Optional(Num),
  price_change_percentage_24h: Num,
  /** An amount in USD, not a percentage (unlike CoinPaprika's field of the same name). */
  market_cap_change_24h: Type.Optional(Num),
  market_cap_change_percentage_24h: Type.Optional(Num),
  circulating_supply: Num,
  total_supply: Num,
  max_supply: Num,
  ath: Type.Optional(Num),
  ath_change_percentage: Type.Optional(Num),
  ath_date: Type.Optional(Str),
  atl: Type.Optional(Num),
  atl_change_percentage: Type.Optional(Num),
  atl_date: Type.Optional(Str),
  roi: Type.Optional(Type.Union([Type.Null(), Type.Object({ times: Num, currency: Str, percentage: Num })])),
  /** ISO with milliseconds; seconds, milliseconds or a zone-less string are read too. */
  last_updated: Type.Union([Type.String(), Type.Number()]),
  sparkline_in_7d: Type.Optional(Type.Unknown()),
  market_cap_rank_with_rehypothecated: Type.Optional(Num),
})

export const COINGECKO_MARKET_SCHEMA = compilePayloadSchema(CoinGeckoMarket)
