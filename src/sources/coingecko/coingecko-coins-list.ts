import { SourceHttpError } from '../../errors.js'
import type { SourceContract } from '../identity-reference.js'

/**
 * `/coins/list?include_platform=true` → contracts per CoinGecko id. `platforms` is `{}` for native
 * coins, and `{"": ""}` or null addresses occur (upstream-apis.md §2.3): those are skipped.
 */
export function normalizeCoinGeckoCoinsList(json: unknown): Map<string, SourceContract[]> {
  if (!Array.isArray(json))
    throw new SourceHttpError('SOURCE_BAD_RESPONSE', 'coingecko /coins/list did not answer a JSON array', {
      source: 'coingecko',
    })
  const contracts = new Map<string, SourceContract[]>()
  for (const item of json as unknown[]) {
    if (typeof item !== 'object' || item === null) continue
    const { id, platforms } = item as { id?: unknown; platforms?: unknown }
    if (typeof id !== 'string' || id === '' || typeof platforms !== 'object' || platforms === null) continue
    const list: SourceContract[] = []
    for (const [platform, address] of Object.entries(platforms)) {
      if (platform !== '' && typeof address === 'string' && address.trim() !== '')
        list.push({ platform, contract: address })
    }
    contracts.set(id, list)
  }
  return contracts
}
