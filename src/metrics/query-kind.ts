import type { CompiledQuery } from 'kysely'

export const QUERY_KINDS = ['select', 'insert', 'update', 'delete', 'other'] as const
export type QueryKind = (typeof QUERY_KINDS)[number]

const BY_NODE: Readonly<Record<string, QueryKind>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
}

// Leading whitespace, `--` line and `/* */` block comments, then the first keyword.
const FIRST_KEYWORD = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/

/** A statement's kind for a metric label: from Kysely's query node, or the first keyword of raw SQL. */
export function queryKind(query: Pick<CompiledQuery, 'query' | 'sql'>): QueryKind {
  return BY_NODE[query.query.kind] ?? sqlKind(query.sql)
}

/** `select`, `insert`, `update` or `delete` by the statement's first keyword, else `other` (BEGIN, WITH, DDL). */
export function sqlKind(sqlText: string): QueryKind {
  const keyword = FIRST_KEYWORD.exec(sqlText)?.[1]?.toLowerCase()
  return keyword === 'select' || keyword === 'insert' || keyword === 'update' || keyword === 'delete'
    ? keyword
    : 'other'
}
