import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` until it returns something other than `undefined` or `false`, and returns that.
 * Fails after `timeoutMs` naming `what`; an error thrown by `check` fails at once.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms: ${opts.what}`)
    await sleep(opts.intervalMs ?? 25)
  }
}
