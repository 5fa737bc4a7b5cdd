import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Db } from '../db/database.js'
import {
  bumpIdentityGeneration,
  deleteRecords,
  deleteUnusedAssets,
  findRecordCollisions,
  insertAliases,
  insertAssets,
  insertRejectionRows,
  insertRemaps,
  listAliases,
  listKnownContracts,
  listSourceAssets,
  moveSourceAssetRecords,
  syncConflicts,
  updateAlias,
  updateAssetLabel,
} from '../db/repositories/identity-repository.js'
import type { AliasMethod, Database } from '../db/schema.js'
import { MARKET_FIELDS, sameMarketValues, type MarketValues } from '../domain/record.js'
import { markAssetsStale } from '../db/repositories/candle-marks-repository.js'
import { sourceAssetKey } from './identity-keys.js'
import type { IdentitySettings } from './identity-settings.js'
import { resolveIdentities, type Resolution, type SourceAssetEvidence } from './resolve-identities.js'

/** One alias that moved from one asset to another, with its records. */
export interface AliasMove {
  readonly source: string
  readonly sourceAssetId: string
  readonly fromAssetId: string
  readonly toAssetId: string
  readonly method: AliasMethod
  readonly confidence: number
  readonly recordsMoved: number
}

export interface RemapOutcome {
  /** Groups this application's rows in `asset_remaps`. */
  readonly remapId: string
  readonly dryRun: boolean
  /** Who asked for it (`key:…`, `jwt:…`, `cli`); null when a run's evidence did. */
  readonly requestedBy: string | null
  readonly aliasesCreated: number
  readonly aliasesUpdated: number
  readonly moves: readonly AliasMove[]
  readonly assetsCreated: readonly string[]
  readonly assetsRemoved: readonly string[]
  readonly recordsMoved: number
  /** Records that met an identical record at their new asset: the copy was dropped. */
  readonly duplicatesDropped: number
  /** Records that met a different record at their new asset: kept as a rejection with their values. */
  readonly recordsSetAside: number
  readonly conflicts: number
}

export interface RemapOptions {
  /** `cli`, `api` or `run:<id>`. */
  readonly trigger: string
  readonly now: string
  readonly dryRun?: boolean
  /** Who asked for it (`key:…`, `jwt:…`, `cli`), stored in each audit row; absent when a run's evidence did. */
  readonly requestedBy?: string | null
}

/**
 * Re-resolves every source asset from all the evidence and makes the database match: creates and
 * relabels assets, creates and moves aliases, moves each moved alias's records with it, drops
 * assets nothing points at, rewrites the conflict list and writes an audit row per move. One
 * transaction under the identity lock: readers see the old mapping or the new one, never half.
 */
export function remapAssets(db: Db, settings: IdentitySettings, opts: RemapOptions): Promise<RemapOutcome> {
  return db.kysely
    .transaction()
    .execute(async (trx) => {
      await db.lockIdentity(trx, 'exclusive')
      const resolution = resolveIdentities(await loadEvidence(trx), settings.overrides, settings.resolve)
      const outcome = await applyResolution(trx, resolution, opts)
      if (opts.dryRun) throw new DryRun(outcome)
      return outcome
    })
    .catch((error: unknown) => {
      if (error instanceof DryRun) return error.outcome
      throw error
    })
}

/** Thrown to roll a dry run back once its outcome is known. */
class DryRun extends Error {
  constructor(readonly outcome: RemapOutcome) {
    super('dry run')
  }
}

export async function loadEvidence(db: Kysely<Database>): Promise<SourceAssetEvidence[]> {
  const [rows, contracts] = await Promise.all([listSourceAssets(db), listKnownContracts(db)])
  const byAsset = new Map<string, { platform: string; address: string }[]>()
  for (const c of contracts) {
    const key = sourceAssetKey(c)
    const list = byAsset.get(key)
    if (list) list.push({ platform: c.platform, address: c.address })
    else byAsset.set(key, [{ platform: c.platform, address: c.address }])
  }
  return rows.map((r) => ({
    source: r.source,
    sourceAssetId: r.sourceAssetId,
    symbol: r.symbol,
    name: r.name,
    rank: r.rank === null ? null : Number(r.rank),
    marketCapUsd: r.marketCapUsd === null ? null : Number(r.marketCapUsd),
    priceUsd: r.priceUsd === null ? null : Number(r.priceUsd),
    observedAt: r.observedAt,
    active: Number(r.active) === 1,
    contracts: byAsset.get(sourceAssetKey(r)) ?? [],
  }))
}

async function applyResolution(
  trx: Kysely<Database>,
  resolution: Resolution,
  opts: RemapOptions,
): Promise<RemapOutcome> {
  const remapId = `${opts.now}-${randomUUID().slice(0, 8)}`
  const existingAssets = new Map(
    (await trx.selectFrom('assets').select(['id', 'symbol', 'name']).execute()).map((a) => [a.id, a]),
  )
  const aliases = new Map((await listAliases(trx)).map((a) => [sourceAssetKey(a), a]))

  const assetsCreated: string[] = []
  const newAssets = []
  for (const asset of resolution.assets.values()) {
    const existing = existingAssets.get(asset.id)
    if (!existing) {
      newAssets.push({ ...asset, createdAt: opts.now })
      assetsCreated.push(asset.id)
    } else if (existing.symbol !== asset.symbol || existing.name !== asset.name) {
      await updateAssetLabel(trx, asset)
    }
  }
  await insertAssets(trx, newAssets)

  const created = []
  const moved: { key: string; from: string; to: string; method: AliasMethod; confidence: number }[] = []
  let aliasesUpdated = 0
  for (const [key, assignment] of resolution.assignments) {
    const alias = aliases.get(key)
    if (!alias) {
      const [source, sourceAssetId] = splitKey(key)
      created.push({ source, sourceAssetId, ...assignment, createdAt: opts.now })
      continue
    }
    if (alias.assetId !== assignment.assetId) {
      moved.push({ key, from: alias.assetId, to: assignment.assetId, ...assignment })
    } else if (alias.method !== assignment.method || Number(alias.confidence) !== assignment.confidence) {
      aliasesUpdated++
    } else {
      continue
    }
    await updateAlias(trx, { ...aliasRef(key), ...assignment })
  }
  await insertAliases(trx, created)

  // Records follow their alias. Each first parks on a temporary asset of its own, so two aliases that
  // swap assets never meet on the way; then each lands, dropping exact copies and setting aside
  // (as rejections, with their values) records whose key the target already holds with other values.
  const moves: AliasMove[] = []
  let duplicatesDropped = 0
  let recordsSetAside = 0
  const parked = moved.map((m, i) => ({ ...m, parking: `~remap-${remapId}-${i}` }))
  if (parked.length > 0) {
    await insertAssets(
      trx,
      parked.map((p) => ({ id: p.parking, symbol: '~', name: 'remap in progress', createdAt: opts.now })),
    )
  }
  for (const p of parked) await moveSourceAssetRecords(trx, aliasRef(p.key), p.from, p.parking)
  for (const p of parked) {
    const ref = aliasRef(p.key)
    const collisions = await findRecordCollisions(trx, ref, p.parking, p.to)
    const drop: number[] = []
    const setAside = []
    for (const { moving, kept } of collisions) {
      drop.push(Number(moving.id))
      if (sameMarketValues(pickValues(moving), pickValues(kept))) {
        duplicatesDropped++
        continue
      }
      recordsSetAside++
      setAside.push({
        runId: moving.runId === null ? null : Number(moving.runId),
        rawBatchId: moving.rawBatchId === null ? null : Number(moving.rawBatchId),
        source: ref.source,
        line: null,
        reasonCode: 'IDENTITY_REMAP_CONFLICT',
        message: `${ref.source} ${ref.sourceAssetId} moved from ${p.from} to ${p.to}, which already holds a different record at ${moving.observedAt}; the record that was there is kept and this one is set aside here`,
        raw: JSON.stringify({ ...moving, assetId: p.from }),
        createdAt: opts.now,
      })
    }
    await insertRejectionRows(trx, setAside)
    await deleteRecords(trx, drop)
    const recordsMoved = await moveSourceAssetRecords(trx, ref, p.parking, p.to)
    // Both assets' candles of this source change: their rollup is rebuilt from the records.
    await markAssetsStale(trx, [p.from, p.to], ref.source)
    moves.push({
      ...ref,
      fromAssetId: p.from,
      toAssetId: p.to,
      method: p.method,
      confidence: p.confidence,
      recordsMoved,
    })
  }
  const assetsRemoved = await deleteUnusedAssets(trx, [
    ...parked.map((p) => p.parking),
    ...[...existingAssets.keys()].filter((id) => !resolution.assets.has(id)),
    ...parked.map((p) => p.from).filter((id) => !resolution.assets.has(id)),
  ])
  await insertRemaps(
    trx,
    moves.map((m) => ({
      remapId,
      trigger: opts.trigger,
      ...m,
      createdAt: opts.now,
      requestedBy: opts.requestedBy ?? null,
    })),
  )
  if (moves.length > 0) await bumpIdentityGeneration(trx)
  await syncConflicts(
    trx,
    resolution.conflicts.map((c) => ({
      source: c.source,
      sourceAssetId: c.sourceAssetId,
      symbol: c.symbol,
      name: c.name,
      assetId: c.assetId,
      reason: c.reason,
      detail: c.detail,
      candidates: JSON.stringify(c.candidates),
      detectedAt: opts.now,
    })),
  )
  return {
    remapId,
    dryRun: opts.dryRun === true,
    requestedBy: opts.requestedBy ?? null,
    aliasesCreated: created.length,
    aliasesUpdated,
    moves,
    assetsCreated,
    assetsRemoved: assetsRemoved.filter((id) => !id.startsWith('~remap-')),
    recordsMoved: moves.reduce((n, m) => n + m.recordsMoved, 0),
    duplicatesDropped,
    recordsSetAside,
    conflicts: resolution.conflicts.length,
  }
}

/** A remap's outcome as `coinpipe assets remap --json` prints it and `POST /api/v1/assets/remap` answers it. */
export function remapOutcomeJson(o: RemapOutcome) {
  return {
    remap_id: o.remapId,
    dry_run: o.dryRun,
    requested_by: o.requestedBy,
    aliases_created: o.aliasesCreated,
    aliases_updated: o.aliasesUpdated,
    assets_created: [...o.assetsCreated],
    assets_removed: [...o.assetsRemoved],
    records_moved: o.recordsMoved,
    duplicates_dropped: o.duplicatesDropped,
    records_set_aside: o.recordsSetAside,
    conflicts: o.conflicts,
    moves: o.moves.map((m) => ({
      source: m.source,
      source_asset_id: m.sourceAssetId,
      from_asset_id: m.fromAssetId,
      to_asset_id: m.toAssetId,
      method: m.method,
      confidence: m.confidence,
      records_moved: m.recordsMoved,
    })),
  }
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('\u0000')
  return [key.slice(0, at), key.slice(at + 1)]
}

function aliasRef(key: string): { source: string; sourceAssetId: string } {
  const [source, sourceAssetId] = splitKey(key)
  return { source, sourceAssetId }
}

function pickValues(row: { [K in keyof MarketValues]: unknown }): MarketValues {
  return Object.fromEntries(
    MARKET_FIELDS.map((f) => [f, row[f] === null || row[f] === undefined ? null : Number(row[f])]),
  ) as unknown as MarketValues
}
