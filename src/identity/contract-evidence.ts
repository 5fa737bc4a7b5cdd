import {
  findFetch,
  findFetchedKeys,
  getEvidenceVersion,
  listAliases,
  listSourceAssets,
  replaceContracts,
  saveFetch,
  upsertSourceAssets,
} from '../db/repositories/identity-repository.js'
import type { Db } from '../db/database.js'
import { AppError, errorCode, errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { SourceContract } from '../sources/identity-reference.js'
import type { Source } from '../sources/source.js'
import { normalizeAddress } from './identity-keys.js'
import { defaultIdentitySettings, translateContract, type IdentitySettings } from './identity-settings.js'
import { remapAssets } from './remap-assets.js'

/** What contract lookups need from their caller; a `PipelineContext` is one. */
export interface ContractEvidenceContext {
  readonly db: Db
  /** The shipped tables with default tolerances when absent. */
  readonly identity?: IdentitySettings
  /** Our clock; tests may pin it. */
  readonly now?: () => Date
}

export interface ContractRefresh {
  /** Source assets whose contracts were fetched (all of the source's for a full list). */
  readonly fetched: number
  readonly remapped: boolean
}

/**
 * After a run, spends a little upstream quota on contract addresses, the strongest automatic
 * evidence: a source that lists every coin's contracts in one call (CoinGecko) is asked at most once
 * per `coinsListMaxAgeMs`; a source that answers per coin (CoinPaprika) is asked only about its
 * candidates that stay unresolved (joined on price alone, or without a CoinGecko counterpart while
 * CoinGecko lists a coin of the same symbol), never twice, at most `contractLookupsPerRun` per run,
 * best-ranked first. New contracts re-resolve identity.
 * An upstream failure here is logged and ends the lookups; it never fails the run.
 */
export async function refreshContractEvidence(
  ctx: ContractEvidenceContext,
  source: Source,
  opts: { runId: number; signal: AbortSignal; log: Logger },
): Promise<ContractRefresh> {
  const reference = source.identity
  if (!reference) return { fetched: 0, remapped: false }
  const settings = ctx.identity ?? defaultIdentitySettings()
  const context = { signal: opts.signal, log: opts.log }
  let fetched = 0
  // Contracts that could change the mapping: a fresh coins list, or a looked-up coin that has some.
  let found = 0
  try {
    if (reference.fetchAllContracts) {
      const key = `${source.name}:coins-list`
      const last = await findFetch(ctx.db.kysely, key)
      const now = nowIso(ctx)
      const due = last === undefined || Date.parse(now) - Date.parse(last) >= settings.coinsListMaxAgeMs
      if (settings.coinsListMaxAgeMs > 0 && due) {
        const all = await reference.fetchAllContracts(context)
        const rows = [...all].flatMap(([sourceAssetId, contracts]) =>
          contracts.flatMap((c) => {
            const address = normalizeAddress(c.contract)
            return address === null ? [] : [{ sourceAssetId, platform: c.platform, address }]
          }),
        )
        await replaceContracts(ctx.db.kysely, source.name, rows, [...all.keys()], now)
        await saveFetch(ctx.db.kysely, key, `${all.size} coins`, now)
        fetched += all.size
        found += rows.length
      }
    }
    if (reference.fetchCoinContracts && settings.contractLookupsPerRun > 0) {
      for (const candidate of await candidatesUnlessUnchanged(ctx, source.name, settings)) {
        if (opts.signal.aborted) break
        const now = nowIso(ctx)
        const coin = await reference.fetchCoinContracts(candidate.sourceAssetId, context)
        const rows = translate(settings, coin.contracts).map((c) => ({
          ...c,
          sourceAssetId: candidate.sourceAssetId,
        }))
        await replaceContracts(ctx.db.kysely, source.name, rows, [candidate.sourceAssetId], now)
        if (!coin.active) await upsertSourceAssets(ctx.db.kysely, [{ ...candidate, active: 0 }], now)
        await saveFetch(
          ctx.db.kysely,
          `${source.name}:coin:${candidate.sourceAssetId}`,
          `${rows.length} contracts`,
          now,
        )
        fetched++
        found += rows.length + (coin.active ? 0 : 1)
      }
    }
  } catch (error) {
    // A stop request mid-lookup is not a failure: the next run carries on.
    if (opts.signal.aborted) return { fetched, remapped: false }
    if (!(error instanceof AppError)) throw error
    opts.log.warn(
      { errorCode: errorCode(error), error: errorMessage(error) },
      'contract lookups for asset identity stopped; they continue after the next run',
    )
  }
  if (found === 0) return { fetched, remapped: false }
  const outcome = await remapAssets(ctx.db, settings, { trigger: `run:${opts.runId}`, now: nowIso(ctx) })
  if (outcome.moves.length > 0)
    opts.log.info(
      { moves: outcome.moves.length, recordsMoved: outcome.recordsMoved },
      'contracts re-resolved assets',
    )
  return { fetched, remapped: true }
}

/**
 * Per database and source, the evidence version at which no candidate was left: finding the
 * candidates reads every source asset and alias, which a steady run would otherwise do for nothing.
 */
const noCandidatesAt = new WeakMap<ContractEvidenceContext['db'], Map<string, string>>()

async function candidatesUnlessUnchanged(
  ctx: ContractEvidenceContext,
  source: string,
  settings: IdentitySettings,
): Promise<Awaited<ReturnType<typeof unresolvedCandidates>>> {
  const version = await getEvidenceVersion(ctx.db.kysely)
  let bySource = noCandidatesAt.get(ctx.db)
  if (bySource === undefined) noCandidatesAt.set(ctx.db, (bySource = new Map<string, string>()))
  if (bySource.get(source) === version) return []
  const candidates = await unresolvedCandidates(ctx, source, settings)
  if (candidates.length === 0) bySource.set(source, version)
  else bySource.delete(source)
  return candidates
}

/** The source's eligible assets still unresolved and never looked up, best-ranked first. */
async function unresolvedCandidates(
  ctx: ContractEvidenceContext,
  source: string,
  settings: IdentitySettings,
) {
  const [evidence, aliases] = await Promise.all([listSourceAssets(ctx.db.kysely), listAliases(ctx.db.kysely)])
  const catalogOf = new Map<string, Set<string>>()
  const aliasOf = new Map<string, (typeof aliases)[number]>()
  for (const alias of aliases) {
    if (alias.source === source) aliasOf.set(alias.sourceAssetId, alias)
    const set = catalogOf.get(alias.assetId) ?? new Set<string>()
    set.add(alias.source)
    catalogOf.set(alias.assetId, set)
  }
  const others = settings.resolve.catalogSources.filter((s) => s !== source)
  // Nothing to match contracts against until another catalog has been read.
  if (!evidence.some((e) => others.includes(e.source))) return []
  // Symbols the other catalogs carry: a coin no other catalog shares a symbol with has nothing a
  // contract could join it to, so it is not worth a call.
  const otherSymbols = new Set(evidence.filter((e) => others.includes(e.source)).map((e) => e.symbol))
  const unresolved = evidence
    .filter((e) => e.source === source && Number(e.active) === 1 && e.rank !== null)
    .filter((e) => {
      const alias = aliasOf.get(e.sourceAssetId)
      if (!alias) return false
      if (alias.method === 'symbol_price') return true
      const joined = catalogOf.get(alias.assetId) ?? new Set()
      return !others.some((s) => joined.has(s)) && otherSymbols.has(e.symbol)
    })
    .sort((a, b) => Number(a.rank) - Number(b.rank) || (a.sourceAssetId < b.sourceAssetId ? -1 : 1))
  const done = await findFetchedKeys(
    ctx.db.kysely,
    unresolved.map((e) => `${source}:coin:${e.sourceAssetId}`),
  )
  return unresolved
    .filter((e) => !done.has(`${source}:coin:${e.sourceAssetId}`))
    .slice(0, settings.contractLookupsPerRun)
    .map((e) => ({
      source: e.source,
      sourceAssetId: e.sourceAssetId,
      symbol: e.symbol,
      name: e.name,
      rank: e.rank,
      marketCapUsd: e.marketCapUsd,
      priceUsd: e.priceUsd,
      observedAt: e.observedAt,
      active: Number(e.active),
    }))
}

function nowIso(ctx: ContractEvidenceContext): string {
  return (ctx.now?.() ?? new Date()).toISOString()
}

function translate(settings: IdentitySettings, contracts: readonly SourceContract[]) {
  return contracts.flatMap((c) => {
    const translated = translateContract(settings.platforms, c)
    return translated ? [translated] : []
  })
}
