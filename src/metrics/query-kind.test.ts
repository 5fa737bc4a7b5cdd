import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  DummyDriver,
} from 'kysely'
import { describe, expect, it } from 'vitest'
import { queryKind, sqlKind } from './query-kind.js'

const db = new Kysely<{ t: { id: number } }>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new SqliteIntrospector(k),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
})

describe('queryKind', () => {
  it('names built queries by their node', () => {
    expect(queryKind(db.selectFrom('t').selectAll().compile())).toBe('select')
    expect(queryKind(db.insertInto('t').values({ id: 1 }).compile())).toBe('insert')
    expect(queryKind(db.updateTable('t').set({ id: 2 }).compile())).toBe('update')
    expect(queryKind(db.deleteFrom('t').compile())).toBe('delete')
  })

  it('reads the first keyword of raw SQL, past whitespace and comments', () => {
    expect(queryKind(CompiledQuery.raw('\n  INSERT INTO records SELECT 1'))).toBe('insert')
    expect(sqlKind('-- why\n/* note */ select 1')).toBe('select')
    expect(sqlKind('Update t set id = 2')).toBe('update')
    expect(sqlKind('DELETE FROM t')).toBe('delete')
  })

  it('calls anything else other, never the SQL text', () => {
    for (const text of [
      'begin immediate',
      'commit',
      'WITH x AS (select 1) select * from x',
      'create table t',
      '',
      '  ',
    ])
      expect(sqlKind(text)).toBe('other')
  })
})
