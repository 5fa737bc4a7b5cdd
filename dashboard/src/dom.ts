/**
 * Building DOM without innerHTML: API text only ever lands in text nodes and attribute values, so
 * no value the API returns can become markup.
 */

export type Child = Node | string | number | null | undefined | false
export type Attrs = Record<string, string | number | boolean | null | undefined>

/** `<tag attrs>children</tag>`; an attribute set to `false`, `null` or `undefined` is left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (attrs) setAttrs(el, attrs)
  append(el, children)
  return el
}

export function setAttrs(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) el.removeAttribute(name)
    else el.setAttribute(name, value === true ? '' : String(value))
  }
}

export function append(el: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }
}

export interface Column<T> {
  label: string
  cell: (row: T) => Child
  /** Right-aligned, tabular figures. */
  numeric?: boolean
}

/**
 * A table in a horizontally scrolling wrapper (so a phone scrolls the table, not the page); the
 * first column holds row headers.
 */
export function dataTable<T>(
  caption: string,
  columns: readonly Column<T>[],
  rows: readonly T[],
  options: { rowAttrs?: (row: T) => Attrs; tableAttrs?: Attrs; key?: string } = {},
): HTMLElement {
  const head = h(
    'tr',
    null,
    ...columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)),
  )
  const body = rows.map((row) =>
    h(
      'tr',
      options.rowAttrs?.(row) ?? null,
      ...columns.map((c, i) =>
        i === 0
          ? h('th', { scope: 'row', class: c.numeric ? 'num' : null }, c.cell(row))
          : h('td', { class: c.numeric ? 'num' : null }, c.cell(row)),
      ),
    ),
  )
  const table = h(
    'table',
    options.tableAttrs ?? null,
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', null, head),
    h('tbody', null, ...body),
  )
  return h('div', { class: 'table-wrap', 'data-key': options.key ?? caption }, table)
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral'

/** A status word in a coloured chip: the word is always there, so colour is never the only signal. */
export function badge(text: string, tone: Tone, attrs: Attrs = {}): HTMLElement {
  return h('span', { ...attrs, class: `badge badge-${tone}` }, text)
}

export function link(href: string, text: Child, attrs: Attrs = {}): HTMLAnchorElement {
  return h('a', { ...attrs, href }, text)
}

/** A friendly line where a table would be empty. */
export function emptyNote(text: string): HTMLElement {
  return h('p', { class: 'empty-note' }, text)
}

/** A small figure card: label above, value below. */
export function statCard(label: string, value: Child, note?: Child, attrs: Attrs = {}): HTMLElement {
  return h(
    'div',
    { ...attrs, class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    note ? h('div', { class: 'stat-note' }, note) : null,
  )
}
