import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { Tick } from './api.js'
import { appHeader } from './app-header.js'
import { runUnderWay } from './health-pill.js'
import { h, link } from './dom.js'
import { updateRelativeTimes } from './format.js'
import { href, parseRoute, type Route } from './router.js'
import { assetView } from './views/asset-view.js'
import { compareView } from './views/compare-view.js'
import { overviewView } from './views/overview-view.js'
import { qualityView } from './views/quality-view.js'
import { runView } from './views/run-view.js'
import { runsView } from './views/runs-view.js'
import type { View } from './views/view.js'

/** How often the open view polls the API while the tab is visible. */
const POLL_MS = 10_000
/** While a run is under way, so its end shows as soon as it comes. */
const BUSY_POLL_MS = 2_000

function createView(route: Route): View {
  switch (route.view) {
    case 'overview':
      return overviewView()
    case 'asset':
      return assetView(route.id)
    case 'runs':
      return runsView()
    case 'run':
      return runView(route.id)
    case 'compare':
      return compareView(route.base, route.head)
    case 'quality':
      return qualityView()
    case 'not-found':
      return notFoundView(route.path)
  }
}

function notFoundView(path: string): View {
  const root = h(
    'main',
    { id: 'main', 'data-view': 'not-found', tabindex: '-1' },
    h('div', { class: 'page-head' }, h('h1', null, 'No such page')),
    h(
      'section',
      { class: 'card' },
      h('p', null, `Nothing lives at #${path}. `, link(href.overview(), 'Back to the overview')),
    ),
  )
  return { root, refresh: () => Promise.resolve() }
}

function start(app: HTMLElement) {
  let view: View | undefined
  let controller = new AbortController()
  let inFlight: Promise<void> | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let busy = false
  const openedAt = Date.now()

  const refresh = (): Promise<void> => {
    if (inFlight) return inFlight
    const current = view
    const tick = new Tick(controller.signal)
    const mine: Promise<void> = Promise.allSettled([header.refresh(tick), current?.refresh(tick)])
      .then(([health]) => {
        busy = health.status === 'fulfilled' && runUnderWay(health.value, Date.now() - openedAt)
        updateRelativeTimes(document)
        if (current && current === view) current.root.setAttribute('data-ready', 'true')
      })
      .finally(() => {
        if (inFlight === mine) inFlight = undefined
      })
    inFlight = mine
    return mine
  }
  const schedule = () => {
    const delay = busy ? BUSY_POLL_MS : POLL_MS
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (document.visibilityState === 'visible') void refresh().finally(schedule)
      else schedule()
    }, delay)
  }
  // A new key (or none) can change every answer: the view starts over, the header stays.
  const header = appHeader(() => mount(false))
  const skip = link('#main', 'Skip to content', { class: 'skip-link' })
  skip.addEventListener('click', (event) => {
    event.preventDefault()
    view?.root.focus()
  })

  const mount = (focus: boolean) => {
    const route = parseRoute(location.hash)
    controller.abort()
    controller = new AbortController()
    inFlight = undefined
    view?.destroy?.()
    view = createView(route)
    header.setRoute(route)
    const old = app.querySelector('main')
    if (old) old.replaceWith(view.root)
    else app.append(view.root)
    const heading = view.root.querySelector('h1')
    document.title = `${heading?.textContent ?? 'coinpipe'} · coinpipe`
    if (focus) {
      window.scrollTo(0, 0)
      heading?.setAttribute('tabindex', '-1')
      heading?.focus({ preventScroll: true })
    }
    clearTimeout(timer)
    void refresh()
      .then(() => {
        const title = view?.root.querySelector('h1')?.textContent
        if (title) document.title = `${title} · coinpipe`
      })
      .finally(schedule)
  }

  app.replaceChildren(skip, header.el, header.keyPanel)
  window.addEventListener('hashchange', () => mount(true))
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh().finally(schedule)
  })
  mount(false)
}

const app = document.getElementById('app')
if (app) start(app)
