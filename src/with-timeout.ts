/** `promise`, or a rejection naming `what` once `timeoutMs` pass without an answer. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what = 'no answer'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
