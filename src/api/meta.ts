/** The part of a Fastify reply that knows the request and its age. */
export interface ReplyTiming {
  readonly elapsedTime: number
  readonly request: { readonly id: string }
}

/** The `meta` block of every list answer: who asked, and how long we took. */
export function responseMeta(reply: ReplyTiming): { request_id: string; api_latency_ms: number } {
  return { request_id: reply.request.id, api_latency_ms: Math.round(reply.elapsedTime * 100) / 100 }
}
