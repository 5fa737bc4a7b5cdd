import { identitySettingsOf, nowIso } from '../../pipeline/pipeline-context.js'
import { remapAssets, remapOutcomeJson, type RemapOutcome } from '../../identity/remap-assets.js'
import { openCliContext } from '../cli-context.js'
import { EXIT } from '../exit-codes.js'

/**
 * `coinpipe assets remap`: re-resolves every source asset from all the evidence (overrides,
 * contracts, names, prices), merges or splits assets, moves their records and writes an audit row
 * per moved alias. `--dry-run` shows what would move and changes nothing.
 */
export async function assetsRemapCommand(options: { dryRun: boolean; json: boolean }): Promise<number> {
  const { pipeline, close } = await openCliContext()
  try {
    const outcome = await remapAssets(pipeline.db, identitySettingsOf(pipeline), {
      trigger: 'cli',
      now: nowIso(pipeline),
      dryRun: options.dryRun,
      requestedBy: 'cli',
    })
    console.log(options.json ? JSON.stringify(remapOutcomeJson(outcome), null, 2) : describe(outcome))
    return EXIT.OK
  } finally {
    await close()
  }
}

function describe(o: RemapOutcome): string {
  const lines = [
    `${o.dryRun ? 'dry run, nothing changed: ' : ''}${o.moves.length} alias(es) moved, ${o.recordsMoved} record(s) with them; ${o.aliasesCreated} alias(es) created, ${o.assetsCreated.length} asset(s) created, ${o.assetsRemoved.length} removed; ${o.conflicts} conflict(s) reported`,
  ]
  for (const m of o.moves)
    lines.push(
      `  ${m.source} ${m.sourceAssetId}: ${m.fromAssetId} → ${m.toAssetId} (${m.method}, ${m.confidence}), ${m.recordsMoved} record(s)`,
    )
  if (o.duplicatesDropped > 0)
    lines.push(`  ${o.duplicatesDropped} identical record(s) met at their new asset: one copy kept`)
  if (o.recordsSetAside > 0)
    lines.push(
      `  ${o.recordsSetAside} record(s) met a different record at their new asset: kept as IDENTITY_REMAP_CONFLICT rejections`,
    )
  if (!o.dryRun && o.moves.length > 0) lines.push(`audit trail: remap ${o.remapId} in asset_remaps`)
  if (o.conflicts > 0) lines.push('conflicts: GET /api/v1/assets/conflicts')
  return lines.join('\n')
}
