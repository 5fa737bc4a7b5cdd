import { ApiError, fetchJson, isAbort, query } from './api.js'
import type { AssetItem, Paged } from './api-types.js'
import { h, setAttrs } from './dom.js'
import { href } from './router.js'

const DEBOUNCE_MS = 200

/**
 * Asset search as an ARIA 1.2 combobox: type a symbol or name, move through the matches with the
 * arrow keys, Enter opens the asset, Escape closes the list (and clears the text when closed).
 */
export function searchBox(): HTMLElement {
  const listId = 'asset-search-list'
  const input = h('input', {
    id: 'asset-search',
    // Not type=search: Chrome clears such a field on Escape, which should only close the list.
    type: 'text',
    enterkeyhint: 'search',
    class: 'search-input',
    placeholder: 'Search assets (BTC, ether…)',
    autocomplete: 'off',
    spellcheck: 'false',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    'data-search': '',
  })
  const list = h('ul', { id: listId, role: 'listbox', class: 'search-list', 'aria-label': 'Matching assets' })
  const status = h('span', { class: 'visually-hidden', role: 'status' })
  const root = h(
    'div',
    { class: 'search' },
    h('label', { for: 'asset-search', class: 'visually-hidden' }, 'Search assets'),
    input,
    list,
    status,
  )
  list.hidden = true

  let options: AssetItem[] = []
  let active = -1
  let timer: ReturnType<typeof setTimeout> | undefined
  let inFlight: AbortController | undefined

  const close = () => {
    list.hidden = true
    active = -1
    setAttrs(input, { 'aria-expanded': 'false', 'aria-activedescendant': null })
  }
  const highlight = (index: number) => {
    active = index
    list
      .querySelectorAll('[role="option"]')
      .forEach((li, i) => li.setAttribute('aria-selected', String(i === index)))
    const current = list.children[index]
    setAttrs(input, { 'aria-activedescendant': current ? current.id : null })
    current?.scrollIntoView({ block: 'nearest' })
  }
  const choose = (asset: AssetItem) => {
    close()
    input.value = ''
    location.hash = href.asset(asset.id)
  }
  const show = (text: string, assets: AssetItem[]) => {
    options = assets
    list.replaceChildren(
      ...assets.map((asset, i) => {
        const li = h(
          'li',
          { id: `${listId}-${i}`, role: 'option', 'aria-selected': 'false', 'data-asset': asset.id },
          h('span', { class: 'search-symbol' }, asset.symbol),
          h('span', { class: 'search-name' }, asset.name),
          h('span', { class: 'search-id' }, asset.id),
        )
        // mousedown, not click: keeps focus in the input until the choice is made.
        li.addEventListener('mousedown', (event) => {
          event.preventDefault()
          choose(asset)
        })
        return li
      }),
    )
    if (assets.length === 0)
      list.append(h('li', { class: 'search-none', role: 'presentation' }, `No asset matches “${text}”`))
    list.hidden = false
    active = -1
    setAttrs(input, { 'aria-expanded': 'true', 'aria-activedescendant': null })
    status.textContent = `${assets.length} ${assets.length === 1 ? 'match' : 'matches'}`
  }
  const search = async (text: string) => {
    inFlight?.abort()
    const controller = new AbortController()
    inFlight = controller
    try {
      const page = await fetchJson<Paged<AssetItem>>(
        `/api/v1/assets${query({ q: text, limit: 10 })}`,
        controller.signal,
      )
      if (input.value.trim() === text) show(text, rank(text, page.data))
    } catch (err) {
      if (isAbort(err)) return
      options = []
      const detail = err instanceof ApiError ? err.detail : 'the API did not answer'
      list.replaceChildren(
        h('li', { class: 'search-none', role: 'presentation' }, `Search failed: ${detail}`),
      )
      list.hidden = false
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer)
    const text = input.value.trim()
    if (text === '') {
      inFlight?.abort()
      close()
      return
    }
    timer = setTimeout(() => void search(text.slice(0, 100)), DEBOUNCE_MS)
  })
  input.addEventListener('keydown', (event) => {
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault()
        if (list.hidden && input.value.trim() !== '') void search(input.value.trim())
        else if (options.length > 0) highlight((active + 1) % options.length)
        break
      case 'ArrowUp':
        event.preventDefault()
        if (options.length > 0) highlight(active <= 0 ? options.length - 1 : active - 1)
        break
      case 'Enter': {
        const asset = options[active] ?? (options.length === 1 ? options[0] : undefined)
        if (!list.hidden && asset) {
          event.preventDefault()
          choose(asset)
        }
        break
      }
      case 'Escape':
        if (!list.hidden) close()
        else input.value = ''
        break
      default:
        break
    }
  })
  input.addEventListener('blur', close)
  return root
}

/** Exact symbol matches first, then symbols that start with the text, then the rest (the API's order). */
function rank(text: string, assets: readonly AssetItem[]): AssetItem[] {
  const wanted = text.toUpperCase()
  const score = (a: AssetItem) =>
    a.symbol.toUpperCase() === wanted ? 0 : a.symbol.toUpperCase().startsWith(wanted) ? 1 : 2
  return [...assets].sort((a, b) => score(a) - score(b))
}
