import { Type } from 'typebox'
import { compilePayloadSchema } from '../payload-schema.js'

/**
 * One item of `GET /tickers?quotes=USD` as documented (upstream-apis.md §1.3). Required means
 * coinpipe reads it. The spec says a missing value may come as `""`, so numbers accept it.
 * `circulating_supply` is absent on the free plan.
 */
const Num = Type.Union([Type.Number(), Type.Null(), Type.Literal('')])
const Str = Type.Union([Type.String(), Type.Null()])

const UsdQuote = Type.Object({
  price: Num,
  volume_24h: Num,
  volume_24h_change_24h: Type.Optional(Num),
  market_cap: Num,
  /** A percentage here, unlike CoinGecko's amount of the same name. */
  market_cap_change_24h: Type.Optional(Num),
  percent_change_15m: Type.Optional(Num),
  percent_change_30m: Type.Optional(Num),
  percent_change_1h: Type.Optional(Num),
  percent_change_6h: Type.Optional(Num),
  percent_change_12h: Type.Optional(Num),
  percent_change_24h: Num,
  percent_change_7d: Type.Optional(Num),
  percent_change_30d: Type.Optional(Num),
  percent_change_1y: Type.Optional(Num),
  ath_price: Type.Optional(Num),
  ath_date: Type.Optional(Str),
  percent_from_price_ath: Type.Optional(Num),
})

export const CoinPaprikaTicker = Type.Object({
  id: Type.String(),
  name: Type.String(),
  symbol: Type.String(),
  rank: Type.Union([Type.Integer(), Type.Null()]),
  circulating_supply: Type.Optional(Num),
  total_supply: Num,
  max_supply: Num,
  beta_value: Type.Optional(Num),
  first_data_at: Type.Optional(Str),
  /** RFC 3339 in whole seconds; epoch numbers and zone-less strings are read too. */
  last_updated: Type.Union([Type.String(), Type.Number()]),
  quotes: Type.Object({ USD: UsdQuote }),
})

export const COINPAPRIKA_TICKER_SCHEMA = compilePayloadSchema(CoinPaprikaTicker)
