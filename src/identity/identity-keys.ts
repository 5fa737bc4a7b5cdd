/**
 * How identity evidence is compared: symbols, names, contract addresses and asset ids, each
 * normalized once so every rule compares like with like.
 */

export function normalizeSymbol(symbol: string): string {
  return symbol.normalize('NFKC').trim().toUpperCase()
}

/** Words that name the kind of thing rather than the thing: "Curve DAO Token" is "Curve DAO". */
const GENERIC_SUFFIXES = new Set(['token', 'coin'])

/**
 * A name as compared across sources: lower-case ASCII letters and digits, without a parenthesised
 * aside such as "(ex-MATIC)" and without a trailing "token" or "coin". Never empty for a name that
 * had letters or digits: "1 (one)" stays "1", and "Token" alone stays "token".
 */
export function normalizeName(name: string): string {
  const plain = name.normalize('NFKD').toLowerCase()
  const withoutAside = plain.replace(/\([^)]*\)/g, ' ')
  const words = (withoutAside.match(/[a-z0-9]+/g) ?? plain.match(/[a-z0-9]+/g) ?? []).slice()
  while (words.length > 1 && GENERIC_SUFFIXES.has(words[words.length - 1]!)) words.pop()
  return words.join('')
}

export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

/** `source\u0000sourceAssetId`: one map key per source asset. */
export function sourceAssetKey(ref: { source: string; sourceAssetId: string }): string {
  return `${ref.source}\u0000${ref.sourceAssetId}`
}

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/

/**
 * An address as compared on its platform: EVM addresses (0x + 40 hex digits) lower-cased, since
 * their case is only a checksum; anything else (Solana, Tron base58) exactly as given. Empty → null.
 */
export function normalizeAddress(address: string | null | undefined): string | null {
  const trimmed = address?.trim() ?? ''
  if (trimmed === '') return null
  return EVM_ADDRESS.test(trimmed) ? trimmed.toLowerCase() : trimmed
}
