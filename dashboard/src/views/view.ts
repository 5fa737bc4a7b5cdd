import type { Tick } from '../api.js'

/** What the router mounts: a `<main data-view>` that refreshes its panels on each tick. */
export interface View {
  readonly root: HTMLElement
  refresh(tick: Tick): Promise<void>
  destroy?(): void
}
