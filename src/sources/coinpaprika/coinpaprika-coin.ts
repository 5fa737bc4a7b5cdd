import { SourceHttpError } from '../../errors.js'
import type { SourceContract } from '../identity-reference.js'

/**
 * `/coins/{id}` → whether the coin is active and its contracts (`contracts[{contract, platform, type}]`,
 * `platform` being a CoinPaprika coin id such as `eth-ethereum`; upstream-apis.md §1.4).
 */
export function normalizeCoinPaprikaCoin(json: unknown): { active: boolean; contracts: SourceContract[] } {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new SourceHttpError('SOURCE_BAD_RESPONSE', 'coinpaprika /coins/{id} did not answer a JSON object', {
      source: 'coinpaprika',
    })
  const { is_active: isActive, contracts } = json as { is_active?: unknown; contracts?: unknown }
  const list: SourceContract[] = []
  for (const entry of Array.isArray(contracts) ? (contracts as unknown[]) : []) {
    if (typeof entry !== 'object' || entry === null) continue
    const { platform, contract } = entry as { platform?: unknown; contract?: unknown }
    if (typeof platform === 'string' && typeof contract === 'string' && contract.trim() !== '')
      list.push({ platform, contract })
  }
  return { active: isActive !== false, contracts: list }
}
