import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { runsEnded, type ServeChild } from './serve-process.js'

/** A stand-in for `serve`: `GET /api/v1/runs?status=running` answers `answers` in turn, then the last. */
async function fakeServe(answers: readonly { status: number; data?: unknown[] }[]) {
  const seen: { url: string; authorization: string | undefined }[] = []
  const server = createServer((request, response) => {
    seen.push({ url: request.url ?? '', authorization: request.headers.authorization })
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!
    response.writeHead(answer.status, { 'content-type': 'application/json' })
    response.end(JSON.stringify(answer.data ? { data: answer.data, page: { limit: 100 } } : { title: 'no' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  const { port } = server.address() as AddressInfo
  return { child: { baseUrl: `http://127.0.0.1:${port}` } as ServeChild, seen }
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

const RUNNING = { id: 7, source: 'coingecko', trigger: 'backfill', status: 'running' }

describe('runsEnded', () => {
  it('polls the running runs with the given headers until there are none', async () => {
    const { child, seen } = await fakeServe([
      { status: 200, data: [RUNNING] },
      { status: 200, data: [RUNNING] },
      { status: 200, data: [] },
    ])
    const waited = await runsEnded(child, { authorization: 'Bearer k' }, 10_000)
    expect(seen).toHaveLength(3)
    expect(seen.every((s) => s.authorization === 'Bearer k')).toBe(true)
    expect(seen[0]!.url).toMatch(/^\/api\/v1\/runs\?status=running/)
    // Two polls 250 ms apart before the third found none.
    expect(waited).toBeGreaterThanOrEqual(400)
  })

  it('names the runs still running once the wait is over', async () => {
    const { child } = await fakeServe([{ status: 200, data: [RUNNING] }])
    await expect(runsEnded(child, {}, 300)).rejects.toThrow(/still running .*7 \(coingecko, backfill\)/)
  })

  it('throws on an answer other than 200, rather than reading it as no run', async () => {
    const { child } = await fakeServe([{ status: 401 }])
    await expect(runsEnded(child, {}, 10_000)).rejects.toThrow(/answered 401/)
  })
})
