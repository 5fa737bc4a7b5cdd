/**
 * The fake upstream's coin catalogue: hand-written, real-world ids, names, symbols and contract
 * addresses (upstream-apis.md §3), with 2025-ish prices and supplies. `priceUsd` is the price at
 * `REFERENCE_TIME`; payloads.ts moves it deterministically from there.
 */
export type FakeSource = 'coingecko' | 'coinpaprika'

export interface CatalogueCoin {
  coingecko?: { id: string; symbol: string; name: string }
  coinpaprika?: { id: string; symbol: string; name: string }
  /** Rank by market cap at `REFERENCE_TIME` among ranked coins; null when the coin is unranked. */
  rank: number | null
  priceUsd: number
  circulatingSupply: number
  totalSupply: number
  maxSupply: number | null
  /** CoinGecko asset-platform id → contract address (EVM addresses lower-case). */
  platforms?: Record<string, string>
  /** CoinPaprika contracts; EVM addresses in checksum case. */
  contracts?: { platform: string; contract: string; type: string }[]
  isActive?: boolean
  /** A stablecoin: price hugs 1, beta is slightly negative. */
  stable?: boolean
  /** The source reports a market cap (and circulating supply) of 0: it does not know the supply. */
  supplyUnknownOn?: FakeSource[]
  /** CoinGecko `roi`: `times` is price / priceUsd − 1 (priceUsd folds in the quote currency's own move). */
  ico?: { priceUsd: number; currency: 'usd' | 'btc' | 'eth' }
  /** First trade, RFC3339 (CoinPaprika `first_data_at`); derived from the id when absent. */
  since?: string
}

/** The default snapshot time of the fake, and the moment `priceUsd` is quoted at. */
export const REFERENCE_TIME = new Date('2026-11-25T12:00:00.000Z')

/** [CoinGecko id, symbol, name] and [CoinPaprika id, SYMBOL, name]; null where the source lacks the coin. */
type Ids = [string, string, string] | null
interface Row {
  gecko: Ids
  paprika: Ids
  price: number
  supply: [circulating: number, total: number, max: number | null]
  erc20?: string
  tron?: string
  extra?: Partial<CatalogueCoin>
}

// prettier-ignore
const ROWS: Row[] = [
  { gecko: ['bitcoin', 'btc', 'Bitcoin'], paprika: ['btc-bitcoin', 'BTC', 'Bitcoin'], price: 97_432, supply: [19_958_000, 19_958_000, 21_000_000], extra: { since: '2010-07-17T00:00:00Z' } },
  { gecko: ['ethereum', 'eth', 'Ethereum'], paprika: ['eth-ethereum', 'ETH', 'Ethereum'], price: 3_412.55, supply: [120_700_000, 120_700_000, null], extra: { since: '2015-08-07T00:00:00Z', ico: { priceUsd: 85, currency: 'btc' } } },
  { gecko: ['tether', 'usdt', 'Tether'], paprika: ['usdt-tether', 'USDT', 'Tether'], price: 1.0002, supply: [184_500_000_000, 184_500_000_000, null], erc20: '0xdAC17F958D2ee523a2206206994597C13D831ec7', tron: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', extra: { stable: true, since: '2015-02-25T00:00:00Z' } },
  { gecko: ['ripple', 'xrp', 'XRP'], paprika: ['xrp-xrp', 'XRP', 'XRP'], price: 2.31, supply: [60_100_000_000, 99_986_000_000, 100_000_000_000], extra: { since: '2013-08-04T00:00:00Z' } },
  { gecko: ['binancecoin', 'bnb', 'BNB'], paprika: ['bnb-binance-coin', 'BNB', 'Binance Coin'], price: 915.4, supply: [139_200_000, 139_200_000, 200_000_000], extra: { since: '2017-07-25T00:00:00Z' } },
  { gecko: ['solana', 'sol', 'Solana'], paprika: ['sol-solana', 'SOL', 'Solana'], price: 186.7, supply: [546_000_000, 610_000_000, null], extra: { since: '2020-04-10T00:00:00Z' } },
  { gecko: ['usd-coin', 'usdc', 'USDC'], paprika: ['usdc-usd-coin', 'USDC', 'USD Coin'], price: 0.9998, supply: [76_200_000_000, 76_200_000_000, null], erc20: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', extra: { stable: true, since: '2018-10-08T00:00:00Z' } },
  { gecko: ['staked-ether', 'steth', 'Lido Staked Ether'], paprika: ['steth-lido-staked-ether', 'STETH', 'Lido Staked Ether'], price: 3_409.9, supply: [8_650_000, 8_650_000, null], erc20: '0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84' },
  { gecko: ['tron', 'trx', 'TRON'], paprika: ['trx-tron', 'TRX', 'TRON'], price: 0.2912, supply: [94_700_000_000, 94_700_000_000, null] },
  { gecko: ['dogecoin', 'doge', 'Dogecoin'], paprika: ['doge-dogecoin', 'DOGE', 'Dogecoin'], price: 0.1724, supply: [151_200_000_000, 151_200_000_000, null], extra: { since: '2013-12-15T00:00:00Z' } },
  { gecko: ['cardano', 'ada', 'Cardano'], paprika: ['ada-cardano', 'ADA', 'Cardano'], price: 0.5821, supply: [36_400_000_000, 44_990_000_000, 45_000_000_000], extra: { since: '2017-10-01T00:00:00Z', ico: { priceUsd: 0.0024, currency: 'usd' } } },
  { gecko: ['wrapped-bitcoin', 'wbtc', 'Wrapped Bitcoin'], paprika: ['wbtc-wrapped-bitcoin', 'WBTC', 'Wrapped Bitcoin'], price: 97_301, supply: [128_900, 128_900, null], erc20: '0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599' },
  { gecko: ['chainlink', 'link', 'Chainlink'], paprika: ['link-chainlink', 'LINK', 'Chainlink'], price: 15.82, supply: [678_100_000, 1_000_000_000, 1_000_000_000], erc20: '0x514910771AF9Ca656af840dff83E8264EcF986CA' },
  { gecko: ['hyperliquid', 'hype', 'Hyperliquid'], paprika: ['hype-hyperliquid', 'HYPE', 'Hyperliquid'], price: 38.4, supply: [336_700_000, 999_800_000, 1_000_000_000] },
  { gecko: ['stellar', 'xlm', 'Stellar'], paprika: ['xlm-stellar', 'XLM', 'Stellar'], price: 0.2745, supply: [31_900_000_000, 50_001_800_000, 50_001_800_000] },
  { gecko: ['bitcoin-cash', 'bch', 'Bitcoin Cash'], paprika: ['bch-bitcoin-cash', 'BCH', 'Bitcoin Cash'], price: 512.3, supply: [19_930_000, 19_930_000, 21_000_000] },
  { gecko: ['sui', 'sui', 'Sui'], paprika: ['sui-sui', 'SUI', 'Sui'], price: 2.71, supply: [3_640_000_000, 10_000_000_000, 10_000_000_000] },
  { gecko: ['avalanche-2', 'avax', 'Avalanche'], paprika: ['avax-avalanche', 'AVAX', 'Avalanche'], price: 17.95, supply: [422_000_000, 458_000_000, 720_000_000] },
  { gecko: ['leo-token', 'leo', 'LEO Token'], paprika: ['leo-leo-token', 'LEO', 'UNUS SED LEO'], price: 9.42, supply: [922_600_000, 985_200_000, null], erc20: '0x2AF5D2aD76741191D15Dfe7bF6aC92d4Bd912Ca3' },
  { gecko: ['litecoin', 'ltc', 'Litecoin'], paprika: ['ltc-litecoin', 'LTC', 'Litecoin'], price: 96.8, supply: [76_300_000, 84_000_000, 84_000_000] },
  { gecko: ['shiba-inu', 'shib', 'Shiba Inu'], paprika: ['shib-shiba-inu', 'SHIB', 'Shiba Inu'], price: 1.398e-5, supply: [589_250_000_000_000, 589_500_000_000_000, null], erc20: '0x95aD61b0a150d79219dCF64E1E6Cc01f0B64C4cE', extra: { since: '2020-08-01T00:00:00Z' } },
  { gecko: ['the-open-network', 'ton', 'Toncoin'], paprika: ['ton-toncoin', 'TON', 'Toncoin'], price: 2.18, supply: [2_530_000_000, 5_140_000_000, null] },
  { gecko: ['polkadot', 'dot', 'Polkadot'], paprika: ['dot-polkadot', 'DOT', 'Polkadot'], price: 3.12, supply: [1_620_000_000, 1_620_000_000, null] },
  { gecko: ['dai', 'dai', 'Dai'], paprika: ['dai-dai', 'DAI', 'Dai'], price: 0.9999, supply: [5_360_000_000, 5_360_000_000, null], erc20: '0x6B175474E89094C44Da98b954EedeAC495271d0F', extra: { stable: true } },
  { gecko: ['monero', 'xmr', 'Monero'], paprika: ['xmr-monero', 'XMR', 'Monero'], price: 342.5, supply: [18_450_000, 18_450_000, null] },
  { gecko: ['uniswap', 'uni', 'Uniswap'], paprika: ['uni-uniswap', 'UNI', 'Uniswap'], price: 7.64, supply: [630_000_000, 1_000_000_000, 1_000_000_000], erc20: '0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984' },
  { gecko: ['pepe', 'pepe', 'Pepe'], paprika: ['pepe-pepe', 'PEPE', 'Pepe'], price: 9.8e-6, supply: [420_690_000_000_000, 420_690_000_000_000, 420_690_000_000_000], erc20: '0x6982508145454Ce325dDbE47a25d4ec3d2311933', extra: { since: '2023-04-17T00:00:00Z' } },
  { gecko: ['aave', 'aave', 'Aave'], paprika: ['aave-new', 'AAVE', 'Aave'], price: 232.1, supply: [15_210_000, 16_000_000, 16_000_000], erc20: '0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9' },
  { gecko: ['near', 'near', 'NEAR Protocol'], paprika: ['near-near-protocol', 'NEAR', 'NEAR Protocol'], price: 2.61, supply: [1_270_000_000, 1_270_000_000, null] },
  { gecko: ['aptos', 'apt', 'Aptos'], paprika: ['apt-aptos', 'APT', 'Aptos'], price: 3.95, supply: [700_000_000, 1_190_000_000, null] },
  { gecko: ['internet-computer', 'icp', 'Internet Computer'], paprika: ['icp-internet-computer', 'ICP', 'Internet Computer'], price: 4.88, supply: [538_000_000, 538_000_000, null] },
  { gecko: ['ethereum-classic', 'etc', 'Ethereum Classic'], paprika: ['etc-ethereum-classic', 'ETC', 'Ethereum Classic'], price: 14.92, supply: [153_300_000, 153_300_000, 210_700_000] },
  { gecko: ['ondo-finance', 'ondo', 'Ondo'], paprika: ['ondo-ondo', 'ONDO', 'Ondo'], price: 0.712, supply: [3_160_000_000, 10_000_000_000, 10_000_000_000], erc20: '0xfAbA6f8e4a5E8Ab82F62fe7C39859FA577269BE3' },
  { gecko: ['polygon-ecosystem-token', 'pol', 'POL (ex-MATIC)'], paprika: ['pol-polygon-ecosystem-token', 'POL', 'Polygon Ecosystem Token'], price: 0.1884, supply: [10_530_000_000, 10_530_000_000, null], erc20: '0x455e53CBB86018Ac2B8092FdCd39d8444aFFC3F6' },
  { gecko: ['render-token', 'render', 'Render'], paprika: ['rndr-render-token', 'RENDER', 'Render'], price: 2.64, supply: [518_000_000, 533_000_000, 644_000_000], erc20: '0x6De037ef9aD2725EB40118Bb1702EBb27e4Aeb24' },
  { gecko: ['cosmos', 'atom', 'Cosmos Hub'], paprika: ['atom-cosmos', 'ATOM', 'Cosmos'], price: 3.11, supply: [474_000_000, 474_000_000, null] },
  { gecko: ['arbitrum', 'arb', 'Arbitrum'], paprika: ['arb-arbitrum', 'ARB', 'Arbitrum'], price: 0.3012, supply: [5_420_000_000, 10_000_000_000, 10_000_000_000], erc20: '0xB50721BCf8d664c30412Cfbc6cf7a15145234ad1' },
  { gecko: ['algorand', 'algo', 'Algorand'], paprika: ['algo-algorand', 'ALGO', 'Algorand'], price: 0.1812, supply: [8_730_000_000, 8_730_000_000, 10_000_000_000] },
  { gecko: ['filecoin', 'fil', 'Filecoin'], paprika: ['fil-filecoin', 'FIL', 'Filecoin'], price: 2.04, supply: [700_000_000, 1_960_000_000, 1_960_000_000] },
  { gecko: ['vechain', 'vet', 'VeChain'], paprika: ['vet-vechain', 'VET', 'VeChain'], price: 0.0221, supply: [85_985_000_000, 85_985_000_000, 86_712_634_466] },
  { gecko: ['mantle', 'mnt', 'Mantle'], paprika: ['mnt-mantle', 'MNT', 'Mantle'], price: 1.21, supply: [3_250_000_000, 6_219_000_000, 6_219_000_000], erc20: '0x3c3a81e81dc49A522A592e7622A7E711c06bf354' },
  { gecko: ['hedera-hashgraph', 'hbar', 'Hedera'], paprika: ['hbar-hedera-hashgraph', 'HBAR', 'Hedera'], price: 0.1612, supply: [42_400_000_000, 50_000_000_000, 50_000_000_000] },
  { gecko: ['fetch-ai', 'fet', 'Artificial Superintelligence Alliance'], paprika: ['fet-fetchai', 'FET', 'Artificial Superintelligence Alliance'], price: 0.356, supply: [2_380_000_000, 2_710_000_000, 2_710_000_000], erc20: '0xaea46A60368A7bD060eec7DF8CBa43b7EF41Ad85' },
  { gecko: ['quant-network', 'qnt', 'Quant'], paprika: ['qnt-quant', 'QNT', 'Quant'], price: 82.4, supply: [14_540_000, 14_610_000, 14_610_000], erc20: '0x4a220E6096B25EADb88358cb44068A3248254675', extra: { supplyUnknownOn: ['coinpaprika'] } },
  { gecko: ['immutable-x', 'imx', 'Immutable'], paprika: ['imx-immutable-x', 'IMX', 'Immutable'], price: 0.452, supply: [1_940_000_000, 2_000_000_000, 2_000_000_000], erc20: '0xF57e7e7C23978C3cAEC3C3548E3D615c346e79fF' },
  { gecko: ['lido-dao', 'ldo', 'Lido DAO'], paprika: ['ldo-lido-dao', 'LDO', 'Lido DAO'], price: 0.812, supply: [895_000_000, 1_000_000_000, 1_000_000_000], erc20: '0x5A98FcBEA516Cf06857215779Fd812CA3beF1B32' },
  { gecko: ['the-sandbox', 'sand', 'The Sandbox'], paprika: ['sand-the-sandbox', 'SAND', 'The Sandbox'], price: 0.1893, supply: [2_560_000_000, 3_000_000_000, 3_000_000_000], erc20: '0x3845badAde8e6dFF049820680d1F14bD3903a5d0' },
  { gecko: ['decentraland', 'mana', 'Decentraland'], paprika: ['mana-decentraland', 'MANA', 'Decentraland'], price: 0.2224, supply: [1_970_000_000, 2_190_000_000, 2_190_000_000], erc20: '0x0F5D2fB29fb7d3CFeE444a200298f468908cC942' },
  { gecko: ['apecoin', 'ape', 'ApeCoin'], paprika: ['ape-apecoin', 'APE', 'ApeCoin'], price: 0.4112, supply: [842_000_000, 1_000_000_000, 1_000_000_000], erc20: '0x4d224452801ACEd8B2F0aebE155379bb5D594381' },
  { gecko: ['curve-dao-token', 'crv', 'Curve DAO'], paprika: ['crv-curve-dao-token', 'CRV', 'Curve DAO Token'], price: 0.5023, supply: [1_430_000_000, 2_330_000_000, 3_030_000_000], erc20: '0xD533a949740bb3306d119CC777fa900bA034cd52' },
  { gecko: ['matic-network', 'matic', 'Polygon'], paprika: ['matic-polygon', 'MATIC', 'Polygon'], price: 0.1891, supply: [1_040_000_000, 10_000_000_000, 10_000_000_000], erc20: '0x7D1AfA7B718fb893dB30A3aBc0Cfc608AaCfeBB0' },
  { gecko: ['harmony', 'one', 'Harmony'], paprika: ['one-harmony', 'ONE', 'Harmony'], price: 0.01142, supply: [14_600_000_000, 14_800_000_000, null] },
  { gecko: ['axelar', 'axl', 'Axelar'], paprika: ['axl-axelar', 'AXL', 'Axelar'], price: 0.3921, supply: [1_020_000_000, 1_200_000_000, null], erc20: '0x467719aD09025FcC6cF6F8311755809d45a5E5f3' },
  { gecko: ['iota', 'iota', 'IOTA'], paprika: ['miota-iota', 'MIOTA', 'IOTA'], price: 0.1745, supply: [3_800_000_000, 4_600_000_000, 4_600_000_000] },
  { gecko: ['chiliz', 'chz', 'Chiliz'], paprika: ['chz-chiliz', 'CHZ', 'Chiliz'], price: 0.0412, supply: [9_550_000_000, 9_550_000_000, null] },
  { gecko: ['floki', 'floki', 'FLOKI'], paprika: ['floki-floki-inu', 'FLOKI', 'FLOKI'], price: 9.12e-5, supply: [9_650_000_000_000, 9_700_000_000_000, 10_000_000_000_000], erc20: '0xcf0C122c6b73ff809C693DB761e7BaeBe62b6a2E' },
  { gecko: ['baby-doge-coin', 'babydoge', 'Baby Doge Coin'], paprika: ['babydoge-baby-doge-coin', 'BABYDOGE', 'Baby Doge Coin'], price: 1.27e-9, supply: [171_500_000_000_000_000, 420_000_000_000_000_000, 420_000_000_000_000_000] },
  // CoinGecko only: symbol collisions (upstream-apis.md §3.2) and coins CoinPaprika lacks here.
  { gecko: ['1-one', 'one', '1 (one)'], paprika: null, price: 0.00213, supply: [21_000_000, 100_000_000, 100_000_000], extra: { rank: null } },
  { gecko: ['axl-inu', 'axl', 'AXL Inu'], paprika: null, price: 4.12e-6, supply: [0, 1_000_000_000_000, 1_000_000_000_000], erc20: '0x25b24B3c47918b7962B3e49C4F468367F73CC0E0', extra: { rank: null, supplyUnknownOn: ['coingecko'] } },
  { gecko: ['tokamak-network', 'ton', 'Tokamak Network'], paprika: null, price: 1.12, supply: [47_000_000, 92_000_000, null], erc20: '0x2be5e8c109e2197D077D13A82dAead6a9b3433C5' },
  { gecko: ['ethena-usde', 'usde', 'Ethena USDe'], paprika: null, price: 1.0004, supply: [7_400_000_000, 7_400_000_000, null], erc20: '0x4c9EDD5852cd905f086C759E8383e09bff1E68B3', extra: { stable: true } },
  { gecko: ['wrapped-steth', 'wsteth', 'Wrapped stETH'], paprika: null, price: 4_121.7, supply: [3_270_000, 3_270_000, null], erc20: '0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0' },
  { gecko: ['usds', 'usds', 'USDS'], paprika: null, price: 0.9997, supply: [8_100_000_000, 8_100_000_000, null], erc20: '0xdC035D45d973E3EC169d2276DDab16f1e407384F', extra: { stable: true } },
  // CoinPaprika only; BitConnect is inactive (rank 0 upstream).
  { gecko: null, paprika: ['hex-hex', 'HEX', 'HEX'], price: 0.00312, supply: [584_000_000_000, 584_000_000_000, null], erc20: '0x2b591e99afE9f32eAA6214f7B7629768c40Eeb39' },
  { gecko: null, paprika: ['bsv-bitcoin-sv', 'BSV', 'Bitcoin SV'], price: 48.6, supply: [19_930_000, 19_930_000, 21_000_000] },
  { gecko: null, paprika: ['xdc-xdc-network', 'XDC', 'XDC Network'], price: 0.0612, supply: [16_500_000_000, 37_900_000_000, 37_900_000_000], extra: { supplyUnknownOn: ['coinpaprika'] } },
  { gecko: null, paprika: ['kas-kaspa', 'KAS', 'Kaspa'], price: 0.0894, supply: [26_600_000_000, 26_600_000_000, 28_700_000_000] },
  { gecko: null, paprika: ['bcc-bitconnect', 'BCC', 'BitConnect'], price: 1.02, supply: [9_790_000, 9_790_000, 28_000_000], extra: { isActive: false, rank: null, supplyUnknownOn: ['coinpaprika'], since: '2017-01-20T00:00:00Z' } },
]

function toCoin(row: Row): Omit<CatalogueCoin, 'rank'> & { rank?: number | null } {
  const [circulatingSupply, totalSupply, maxSupply] = row.supply
  const coin: Omit<CatalogueCoin, 'rank'> = { priceUsd: row.price, circulatingSupply, totalSupply, maxSupply }
  if (row.gecko) coin.coingecko = { id: row.gecko[0], symbol: row.gecko[1], name: row.gecko[2] }
  if (row.paprika) coin.coinpaprika = { id: row.paprika[0], symbol: row.paprika[1], name: row.paprika[2] }
  if (row.erc20) {
    coin.platforms = { ethereum: row.erc20.toLowerCase() }
    coin.contracts = [{ platform: 'eth-ethereum', contract: row.erc20, type: 'ERC20' }]
  }
  if (row.tron) {
    coin.platforms = { ...coin.platforms, tron: row.tron }
    coin.contracts = [...(coin.contracts ?? []), { platform: 'trx-tron', contract: row.tron, type: 'TRC20' }]
  }
  return { ...coin, ...row.extra }
}

function rankByMarketCap(coins: ReturnType<typeof toCoin>[]): CatalogueCoin[] {
  const ranked = coins
    .filter((c) => c.rank === undefined)
    .sort((a, b) => b.priceUsd * b.circulatingSupply - a.priceUsd * a.circulatingSupply)
  return coins.map((c) => ({ ...c, rank: c.rank === undefined ? ranked.indexOf(c) + 1 : c.rank }))
}

/** The hand-written coins, ranked by market cap at `REFERENCE_TIME`. */
export const CATALOGUE: readonly CatalogueCoin[] = rankByMarketCap(ROWS.map(toCoin))

/** Synthetic coin `n` (1-based) for large catalogues: listed on both sources, ranked after the catalogue. */
export function syntheticCoin(n: number): CatalogueCoin {
  const marketCap = 40_000_000 * Math.exp(-n / 400)
  const priceUsd = Number((10 ** (((n * 7919) % 600) / 100 - 4)).toPrecision(4))
  const circulatingSupply = Math.round(marketCap / priceUsd)
  const coin: CatalogueCoin = {
    coingecko: { id: `synth-coin-${n}`, symbol: `syn${n}`, name: `Synth Coin ${n}` },
    coinpaprika: { id: `syn${n}-synth-coin-${n}`, symbol: `SYN${n}`, name: `Synth Coin ${n}` },
    rank: CATALOGUE.length + n,
    priceUsd,
    circulatingSupply,
    totalSupply: circulatingSupply * (1 + (n % 5) / 4),
    maxSupply: n % 3 === 0 ? null : circulatingSupply * 2,
  }
  if (n % 3 === 1) {
    const hex = syntheticAddress(n)
    coin.platforms = { ethereum: hex }
    coin.contracts = [{ platform: 'eth-ethereum', contract: mixedCase(hex), type: 'ERC20' }]
  }
  return coin
}

/** The coins a source lists: the catalogue's, then synthetic ones up to `count` (or the first `count`). */
export function coinsOf(source: FakeSource, count?: number): CatalogueCoin[] {
  const own = CATALOGUE.filter((c) => c[source] !== undefined)
  if (count === undefined) return own
  if (count <= own.length) return own.slice(0, count)
  return [...own, ...Array.from({ length: count - own.length }, (_, i) => syntheticCoin(i + 1))]
}

function syntheticAddress(n: number): string {
  let hex = ''
  for (let i = 0; hex.length < 40; i++)
    hex += ((n * 2654435761 + i * 40503) >>> 0).toString(16).padStart(8, '0')
  return `0x${hex.slice(0, 40)}`
}

/** Checksum-looking case (not real EIP-55): what CoinPaprika shows, what a matcher must lower-case. */
function mixedCase(address: string): string {
  return `0x${[...address.slice(2)].map((ch, i) => (i % 3 === 0 ? ch.toUpperCase() : ch)).join('')}`
}
