import type { Tick } from './api.js'
import { apiKeyControl } from './api-key-form.js'
import { h } from './dom.js'
import { healthPill } from './health-pill.js'
import { href, type Route } from './router.js'
import { searchBox } from './search-box.js'

const NAV: { label: string; href: string; views: Route['view'][] }[] = [
  { label: 'Overview', href: href.overview(), views: ['overview', 'asset'] },
  { label: 'Runs', href: href.runs(), views: ['runs', 'run', 'compare'] },
  { label: 'Data quality', href: href.quality(), views: ['quality'] },
]

/** The header on every view: name, navigation, asset search, health pill and the API key control. */
export function appHeader(onKeyChange: () => void) {
  const health = healthPill()
  const key = apiKeyControl(onKeyChange)
  const links = NAV.map((item) => h('a', { href: item.href }, item.label))
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Main' },
    h(
      'ul',
      null,
      ...links.map((a) => h('li', null, a)),
      h(
        'li',
        null,
        h(
          'a',
          { href: '/docs', class: 'external', target: '_blank', rel: 'noopener' },
          'API docs',
          h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
        ),
      ),
    ),
  )
  const el = h(
    'header',
    { class: 'app-header' },
    h(
      'div',
      { class: 'header-inner' },
      h(
        'a',
        { href: '#/', class: 'brand' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
        h('span', { class: 'brand-name' }, 'coinpipe'),
      ),
      nav,
      searchBox(),
      h('div', { class: 'header-status' }, health.el, key.button),
    ),
  )
  return {
    el,
    keyPanel: key.panel,
    refresh: (tick: Tick) => health.refresh(tick),
    setRoute(route: Route) {
      NAV.forEach((item, i) => {
        const a = links[i]
        if (!a) return
        if (item.views.includes(route.view)) a.setAttribute('aria-current', 'page')
        else a.removeAttribute('aria-current')
      })
    },
  }
}
