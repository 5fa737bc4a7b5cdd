import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { SchemaDriftError } from '../errors.js'
import type { RowRejection } from './source.js'
import type { DetectedSchemaChange } from '../domain/schema-change.js'

interface DeclaredField {
  readonly path: readonly string[]
  readonly name: string
  readonly required: boolean
  readonly expected: string
  check(value: unknown): boolean
}

/** An object of the item whose keys are checked for ones the schema does not declare. */
interface DeclaredObject {
  readonly path: readonly string[]
  /** `quotes.USD.` for `quotes.USD`, `` for the item itself: what a key's full name starts with. */
  readonly prefix: string
  /** The keys the schema declares in this object (fields and nested objects). */
  readonly keys: ReadonlySet<string>
}

/** A declared item schema, compiled once: its fields, and the objects whose extra keys are reported. */
export interface PayloadSchema {
  readonly fields: readonly DeclaredField[]
  readonly objects: readonly DeclaredObject[]
  readonly declared: ReadonlySet<string>
}

export interface CheckedPayload {
  /** Items that passed, with field aliases applied, and their 1-based positions. */
  readonly items: readonly { readonly item: Record<string, unknown>; readonly position: number }[]
  readonly rejections: readonly RowRejection[]
  readonly changes: readonly DetectedSchemaChange[]
}

/**
 * Compiles a TypeBox object schema of one payload item. Nested `Type.Object`s are walked, so
 * `quotes.USD.price` is a field of its own; a field is required only if its parents are.
 */
export function compilePayloadSchema(item: TSchema): PayloadSchema {
  const fields: DeclaredField[] = []
  const objects: string[][] = []
  const walk = (schema: TSchema, path: string[], required: boolean) => {
    objects.push(path)
    const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {}
    const requiredKeys = new Set((schema as { required?: string[] }).required ?? [])
    for (const [key, child] of Object.entries(props)) {
      const childPath = [...path, key]
      const childRequired = required && requiredKeys.has(key)
      if ((child as { type?: unknown }).type === 'object' && (child as { properties?: unknown }).properties) {
        walk(child, childPath, childRequired)
        continue
      }
      const compiled = Compile(child)
      fields.push({
        path: childPath,
        name: childPath.join('.'),
        required: childRequired,
        expected: describeSchema(child),
        check: (value) => compiled.Check(value),
      })
    }
  }
  walk(item, [], true)
  const declared = new Set([...fields.map((f) => f.name), ...objects.map((o) => o.join('.'))])
  const declaredObjects = objects.map((path) => {
    const prefix = path.length === 0 ? '' : `${path.join('.')}.`
    const keys = new Set(
      [...declared]
        .filter((name) => name.startsWith(prefix) && name.length > prefix.length)
        .map((name) => name.slice(prefix.length).split('.')[0]!),
    )
    return { path, prefix, keys }
  })
  return { fields, objects: declaredObjects, declared }
}

/**
 * Checks a payload (an array of items) against its schema. Unknown fields are accepted and
 * reported. A required field missing or retyped in at least half of the items is drift: the whole
 * batch fails with `SOURCE_SCHEMA_DRIFT`. In fewer items, only those rows are rejected.
 * `aliases` (upstream field → declared field) read a renamed field under its declared name.
 */
export function checkPayload(
  payload: unknown,
  schema: PayloadSchema,
  aliases: Readonly<Record<string, string>> = {},
  label: (item: Record<string, unknown>) => string = () => '',
): CheckedPayload {
  if (!Array.isArray(payload)) {
    const change: DetectedSchemaChange = {
      field: '$',
      change: 'retyped',
      detail: {
        message: 'the payload is not an array of items',
        expected: 'array',
        actual: jsonType(payload),
      },
    }
    throw new SchemaDriftError([change])
  }
  const aliasPairs = Object.entries(aliases).map(([from, to]) => [from.split('.'), to.split('.')] as const)
  const aliasSources = new Set(Object.keys(aliases))
  const missing = new Map<DeclaredField, number[]>()
  const retyped = new Map<DeclaredField, { positions: number[]; actual: Set<string> }>()
  const added = new Map<string, { count: number; types: Set<string>; samples: unknown[] }>()
  const problems = new Map<number, string[]>()
  const views: { item: Record<string, unknown>; position: number }[] = []

  payload.forEach((raw: unknown, index) => {
    const position = index + 1
    if (!isRecord(raw)) {
      problems.set(position, [`item is ${jsonType(raw)}, not an object`])
      return
    }
    const item = applyAliases(raw, aliasPairs)
    views.push({ item, position })
    for (const field of schema.fields) {
      const value = getPath(item, field.path)
      if (value === undefined) {
        if (!field.required) continue
        push(missing, field, position)
        push(problems, position, `${field.name} is missing`)
      } else if (!field.check(value)) {
        const entry = retyped.get(field) ?? { positions: [], actual: new Set<string>() }
        entry.positions.push(position)
        entry.actual.add(jsonType(value))
        retyped.set(field, entry)
        push(problems, position, `${field.name} should be ${field.expected}, got ${jsonType(value)}`)
      }
    }
    // Every key of every declared object, once per item: the declared ones are known by their
    // local name, so no full name is built unless the key is new.
    for (const declaredObject of schema.objects) {
      const object = getPath(item, declaredObject.path)
      if (!isRecord(object)) continue
      for (const key in object) {
        if (declaredObject.keys.has(key) || !Object.hasOwn(object, key)) continue
        const name = declaredObject.prefix + key
        if (aliasSources.has(name)) continue
        const value = object[key]
        const entry = added.get(name) ?? { count: 0, types: new Set<string>(), samples: [] }
        entry.count++
        entry.types.add(jsonType(value))
        if (entry.samples.length < 20) entry.samples.push(value)
        added.set(name, entry)
      }
    }
  })

  const total = payload.length
  const isDrift = (count: number) => count > 0 && count * 2 >= total
  const changes: DetectedSchemaChange[] = []
  const renamedTo = new Set<string>()
  for (const [field, positions] of missing) {
    if (!isDrift(positions.length)) continue
    const rename = guessRename(field, added, renamedTo)
    if (rename) {
      renamedTo.add(rename.to)
      changes.push({
        field: field.name,
        change: 'renamed',
        detail: {
          message: `${field.name} is missing and ${rename.to} appeared: probably renamed`,
          expected: field.expected,
          renamedTo: rename.to,
          confidence: rename.confidence,
        },
      })
    } else {
      changes.push({
        field: field.name,
        change: 'removed',
        detail: { message: `required field ${field.name} is missing`, expected: field.expected },
      })
    }
  }
  for (const [field, { positions, actual }] of retyped) {
    if (!isDrift(positions.length)) continue
    const types = [...actual].sort().join(' | ')
    changes.push({
      field: field.name,
      change: 'retyped',
      detail: {
        message: `${field.name} is ${types}, not ${field.expected}`,
        expected: field.expected,
        actual: types,
      },
    })
  }
  for (const [name, entry] of added) {
    if (renamedTo.has(name)) continue
    const types = [...entry.types].sort().join(' | ')
    changes.push({
      field: name,
      change: 'added',
      detail: { message: `new field ${name} (${types}) is accepted and not read`, actual: types },
    })
  }
  if (changes.some((c) => c.change !== 'added')) throw new SchemaDriftError(changes)

  const byPosition = new Map(views.map((v) => [v.position, v.item]))
  const rejections: RowRejection[] = [...problems].map(([position, reasons]) => {
    const item = byPosition.get(position)
    const name = item ? label(item) : ''
    return {
      line: position,
      reasonCode: 'SOURCE_ROW_INVALID',
      message: `item ${position}${name ? ` (${name})` : ''}: ${reasons.join('; ')}`,
      raw: JSON.stringify(payload[position - 1]) ?? null,
    }
  })
  return { items: views.filter((v) => !problems.has(v.position)), rejections, changes }
}

/** The added field most likely to be `field` under a new name: same parent, fitting values, a similar name. */
function guessRename(
  field: DeclaredField,
  added: ReadonlyMap<string, { count: number; samples: unknown[] }>,
  taken: ReadonlySet<string>,
): { to: string; confidence: number } | undefined {
  const parent = field.path.slice(0, -1).join('.')
  let best: { to: string; confidence: number } | undefined
  for (const [name, entry] of added) {
    if (taken.has(name)) continue
    const path = name.split('.')
    if (path.slice(0, -1).join('.') !== parent) continue
    const fit = entry.samples.filter((v) => field.check(v)).length / Math.max(1, entry.samples.length)
    if (fit === 0) continue
    const confidence =
      Math.round((0.6 * fit + 0.4 * nameSimilarity(field.path.at(-1)!, path.at(-1)!)) * 100) / 100
    if (confidence >= 0.5 && (!best || confidence > best.confidence)) best = { to: name, confidence }
  }
  return best
}

/** Dice coefficient over letter pairs, ignoring case and separators: 1 for the same name, 0 for nothing shared. */
export function nameSimilarity(a: string, b: string): number {
  const pairs = (s: string) => {
    const t = s.toLowerCase().replace(/[^a-z0-9]/g, '')
    const out = new Map<string, number>()
    for (let i = 0; i < t.length - 1; i++) out.set(t.slice(i, i + 2), (out.get(t.slice(i, i + 2)) ?? 0) + 1)
    return out
  }
  const pa = pairs(a)
  const pb = pairs(b)
  let shared = 0
  let total = 0
  for (const [pair, n] of pa) shared += Math.min(n, pb.get(pair) ?? 0)
  for (const n of pa.values()) total += n
  for (const n of pb.values()) total += n
  return total === 0 ? 0 : (2 * shared) / total
}

function applyAliases(
  item: Record<string, unknown>,
  aliases: readonly (readonly [readonly string[], readonly string[]])[],
): Record<string, unknown> {
  let view = item
  for (const [from, to] of aliases) {
    if (getPath(view, to) !== undefined) continue
    const value = getPath(view, from)
    if (value === undefined) continue
    view = setPath(view, to, value)
  }
  return view
}

export function getPath(value: unknown, path: readonly string[]): unknown {
  let current = value
  for (const key of path) {
    if (!isRecord(current)) return undefined
    current = current[key]
  }
  return current
}

/** A copy of `object` with `value` at `path`, copying only the objects along the way. */
function setPath(
  object: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const [key, ...rest] = path
  if (key === undefined) return object
  const inner = object[key]
  return { ...object, [key]: rest.length === 0 ? value : setPath(isRecord(inner) ? inner : {}, rest, value) }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (value === '') return 'empty string'
  return typeof value
}

function describeSchema(schema: TSchema): string {
  const s = schema as { anyOf?: TSchema[]; type?: string | string[]; const?: unknown }
  if (s.anyOf) return s.anyOf.map(describeSchema).join(' | ')
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (Array.isArray(s.type)) return s.type.join(' | ')
  return s.type ?? 'any'
}

/** A stored JSON payload, read again for a replay; a broken one fails its batch, not the run. */
export function readStoredJson(payload: string): unknown {
  try {
    return JSON.parse(payload) as unknown
  } catch {
    throw new SchemaDriftError([
      { field: '$', change: 'retyped', detail: { message: 'the stored payload is not valid JSON' } },
    ])
  }
}
