export type CsvField =
  | 'observed_at'
  | 'symbol'
  | 'name'
  | 'price_usd'
  | 'market_cap_usd'
  | 'volume_24h_usd'
  | 'change_24h_pct'
  | 'rank'
  | 'circulating_supply'
  | 'total_supply'
  | 'max_supply'

/** Column index of each recognised field; `width` is the number of columns in the header. */
export type CsvHeaderMap = Readonly<Partial<Record<CsvField, number>>> & {
  readonly observed_at: number
  readonly symbol: number
  readonly price_usd: number
  readonly width: number
}

/** Header names (after `normalizeHeaderName`) that mean each field, as seen in common exports. */
const HEADER_ALIASES: Readonly<Record<CsvField, readonly string[]>> = {
  observed_at: [
    'date',
    'timestamp',
    'time',
    'datetime',
    'day',
    'snapped_at',
    'observed_at',
    'time_open',
    'timeopen',
  ],
  symbol: ['symbol', 'ticker', 'asset_symbol', 'coin_symbol'],
  name: ['name', 'asset', 'asset_name', 'coin', 'coin_name'],
  price_usd: ['price', 'price_usd', 'close', 'close_usd', 'usd', 'last', 'last_price'],
  market_cap_usd: ['market_cap', 'marketcap', 'market_cap_usd', 'mcap', 'mkt_cap'],
  volume_24h_usd: [
    'volume',
    'volume_24h',
    'volume_24h_usd',
    'total_volume',
    'volume_usd',
    '24h_volume',
    'vol',
  ],
  change_24h_pct: [
    'change_24h',
    'change_24h_pct',
    'percent_change_24h',
    'pct_change_24h',
    'change_pct',
    '24h_change',
  ],
  rank: ['rank', 'market_cap_rank', 'cmc_rank'],
  circulating_supply: ['circulating_supply', 'supply', 'circulating'],
  total_supply: ['total_supply'],
  max_supply: ['max_supply'],
}

const REQUIRED_FIELDS: readonly CsvField[] = ['observed_at', 'symbol', 'price_usd']

const FIELD_BY_ALIAS: ReadonlyMap<string, CsvField> = new Map(
  (Object.entries(HEADER_ALIASES) as [CsvField, readonly string[]][]).flatMap(([field, aliases]) =>
    aliases.map((alias): [string, CsvField] => [alias, field]),
  ),
)

export class CsvHeaderError extends Error {
  readonly code = 'CSV_HEADER_INVALID'

  constructor(
    readonly missing: CsvField[],
    readonly columns: string[],
  ) {
    super(`CSV header has no column for ${missing.join(', ')} (columns: ${columns.join(', ')})`)
    this.name = 'CsvHeaderError'
  }
}

/** `"\uFEFFPrice (USD)"` → `price_usd`, `"Market Cap"` → `market_cap`, `"24h Volume"` → `24h_volume`. */
export function normalizeHeaderName(raw: string): string {
  return raw
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s\-./()_]+/g, '_')
    .replace(/^_+|_+$/g, '')
}

/**
 * Finds the column of each known field in a CSV header row. For each field the first matching
 * column wins. Throws `CsvHeaderError` naming every required field (observed_at, symbol, price_usd)
 * that has no column.
 */
export function mapCsvHeader(columns: readonly string[]): CsvHeaderMap {
  const found: Partial<Record<CsvField, number>> = {}
  columns.forEach((column, index) => {
    const field = FIELD_BY_ALIAS.get(normalizeHeaderName(column))
    if (field !== undefined && found[field] === undefined) found[field] = index
  })

  const { observed_at, symbol, price_usd } = found
  if (observed_at === undefined || symbol === undefined || price_usd === undefined) {
    const missing = REQUIRED_FIELDS.filter((field) => found[field] === undefined)
    throw new CsvHeaderError(missing, [...columns])
  }
  return Object.freeze({ ...found, observed_at, symbol, price_usd, width: columns.length })
}
