import { createHash, type Hash } from 'node:crypto'
import { open } from 'node:fs/promises'

/**
 * A running SHA-256 over a file's bytes that can say, at any record boundary, what the hash of the
 * file up to that byte is. Read chunks are held only until the boundary passes them, so memory stays
 * at about one batch of text.
 */
export class FilePrefixHasher {
  private readonly hash: Hash
  private pending: Buffer[] = []
  /** Absolute offset of the first byte in `pending`. */
  private pendingStart: number
  /** Absolute offset the hash has consumed up to. */
  private hashedTo: number

  constructor(hash: Hash = createHash('sha256'), offset = 0) {
    this.hash = hash
    this.pendingStart = offset
    this.hashedTo = offset
  }

  push(chunk: Buffer): void {
    this.pending.push(chunk)
  }

  /** The bytes [from, to); they must lie after the last `digestAt` offset and be pushed already. */
  bytes(from: number, to: number): Buffer {
    const parts: Buffer[] = []
    let start = this.pendingStart
    for (const chunk of this.pending) {
      const end = start + chunk.length
      if (end > from && start < to)
        parts.push(chunk.subarray(Math.max(0, from - start), Math.min(chunk.length, to - start)))
      if (end >= to) break
      start = end
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }

  /** Hex SHA-256 of bytes [0, offset). `offset` must not go backwards or past what was pushed. */
  digestAt(offset: number): string {
    while (this.hashedTo < offset) {
      const chunk = this.pending[0]
      if (!chunk) throw new Error(`prefix offset ${offset} is past the bytes read (${this.hashedTo})`)
      const from = this.hashedTo - this.pendingStart
      const take = Math.min(chunk.length - from, offset - this.hashedTo)
      this.hash.update(chunk.subarray(from, from + take))
      this.hashedTo += take
      if (from + take === chunk.length) {
        this.pending.shift()
        this.pendingStart += chunk.length
      }
    }
    return this.hash.copy().digest('hex')
  }
}

const HASH_READ_BYTES = 1 << 20

/**
 * Hashes bytes [0, length) of a file, returning the hex digest and the live hash to continue from.
 * One buffer is read into again and again: a re-import of a file it already holds costs a pass of
 * SHA-256 over the file and no memory that grows with it.
 */
export async function hashFilePrefix(path: string, length: number): Promise<{ digest: string; hash: Hash }> {
  const hash = createHash('sha256')
  if (length > 0) {
    const file = await open(path, 'r')
    try {
      const buffer = Buffer.allocUnsafe(Math.min(HASH_READ_BYTES, length))
      for (let at = 0; at < length;) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - at), at)
        if (bytesRead === 0) break
        hash.update(buffer.subarray(0, bytesRead))
        at += bytesRead
      }
    } finally {
      await file.close()
    }
  }
  return { digest: hash.copy().digest('hex'), hash }
}
