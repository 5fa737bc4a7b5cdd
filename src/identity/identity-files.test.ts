import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PACKAGE_ROOT } from '../config.js'
import { readOverrideFile, readPlatformFile } from './identity-files.js'
import {
  identitySettingsFromConfig,
  overridesOf,
  SHIPPED_OVERRIDES,
  SHIPPED_PLATFORMS,
} from './identity-settings.js'

const tolerances = { priceTolerancePct: 2, contractLookupsPerRun: 0, coinsListRefreshMs: 0 }

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'coinpipe-overrides-')), 'overrides.json')
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

describe('identity tables', () => {
  it('ships tables that match their schema, read at run time without a validator', () => {
    const overridesPath = resolve(PACKAGE_ROOT, SHIPPED_OVERRIDES)
    expect(() => overridesOf(readOverrideFile(overridesPath), overridesPath)).not.toThrow()
    expect(Object.keys(readPlatformFile(resolve(PACKAGE_ROOT, SHIPPED_PLATFORMS)).platforms)).toContain(
      'eth-ethereum',
    )
  })

  it("puts the user's overrides before the shipped ones", async () => {
    const path = file({
      assets: [
        { coingecko: 'binancecoin', coinpaprika: 'bnb-binance-coin', asset_id: 'bnb-mine', why: 'mine' },
      ],
    })
    const settings = await identitySettingsFromConfig({ ...tolerances, overridesPath: path })
    expect(settings.overrides[0]).toMatchObject({ assetId: 'bnb-mine', why: 'mine' })
    expect(
      settings.overrides.filter((o) => o.members.some((m) => m.sourceAssetId === 'binancecoin')),
    ).toHaveLength(1)
  })

  it.each([
    ['not JSON', '{', /IDENTITY_OVERRIDES_PATH is invalid: .*overrides\.json: /],
    [
      'a field the schema does not know',
      { assets: [{ coingecko: 'x', why: 'y', extra: 1 }] },
      /overrides\.json: \/assets\/0/,
    ],
    ['an entry without a source id', { assets: [{ why: 'nothing' }] }, /assets\[0\] names no source id/],
  ])('refuses a user file with %s, naming the file', async (_what, content, message) => {
    const error = await identitySettingsFromConfig({ ...tolerances, overridesPath: file(content) }).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' })
    expect((error as Error).message).toMatch(message)
  })
})
