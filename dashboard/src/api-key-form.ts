import { forgetApiKey, onUnauthorized, readApiKey, saveApiKey } from './api.js'
import { h, setAttrs } from './dom.js'

/**
 * The "API key" control: a header button and the form it opens. The key is kept in sessionStorage
 * (this tab only) and sent as `Authorization: Bearer`; it opens by itself when a read answers 401.
 */
export function apiKeyControl(onChange: () => void): { button: HTMLElement; panel: HTMLElement } {
  const button = h(
    'button',
    { type: 'button', class: 'key-button', 'aria-expanded': 'false', 'aria-controls': 'api-key-panel' },
    h('span', { class: 'key-icon', 'aria-hidden': 'true' }),
    h('span', { class: 'key-label' }, 'API key'),
  )
  const input = h('input', {
    id: 'api-key-input',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'Paste a key from API_KEYS, or a bearer token',
    'data-api-key': '',
  })
  const submit = h('button', { type: 'submit', class: 'primary', 'data-api-key-submit': '' }, 'Use key')
  const forget = h('button', { type: 'button', 'data-api-key-forget': '' }, 'Forget key')
  const close = h(
    'button',
    { type: 'button', class: 'ghost', 'aria-label': 'Close the API key form' },
    'Close',
  )
  const message = h('p', { class: 'key-message', role: 'status' })
  const form = h(
    'form',
    { class: 'key-form' },
    h('label', { for: 'api-key-input' }, 'API key'),
    input,
    submit,
    forget,
    close,
  )
  const panel = h(
    'section',
    { id: 'api-key-panel', class: 'key-panel', 'aria-label': 'API key' },
    h('div', { class: 'key-inner' }, message, form),
  )

  const sync = (text?: string) => {
    const stored = readApiKey() !== undefined
    setAttrs(button, { 'data-has-key': stored ? 'true' : 'false' })
    forget.disabled = !stored
    message.textContent =
      text ??
      (stored
        ? 'A key is stored for this tab only (sessionStorage) and sent as “Authorization: Bearer …” with every request.'
        : 'No key stored. Reads are open unless the server sets API_READ_KEYS_REQUIRED=true.')
  }
  const setOpen = (open: boolean) => {
    panel.hidden = !open
    button.setAttribute('aria-expanded', String(open))
  }

  button.addEventListener('click', () => {
    const open = panel.hidden
    setOpen(open)
    sync()
    if (open) input.focus()
  })
  close.addEventListener('click', () => {
    setOpen(false)
    button.focus()
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const key = input.value.trim()
    if (key === '') {
      sync('Paste a key first.')
      input.focus()
      return
    }
    saveApiKey(key)
    input.value = ''
    sync('Key saved for this tab. Reloading the data…')
    onChange()
  })
  forget.addEventListener('click', () => {
    forgetApiKey()
    sync('Key forgotten: requests go out without one now.')
    onChange()
  })
  let asked = false
  onUnauthorized((detail) => {
    const stored = readApiKey() !== undefined
    sync(
      stored
        ? `The API refused the stored key: ${detail}. Paste another one.`
        : `This API needs a key to read data (${detail}). Paste one of the server's API_KEYS, or a token with the read scope.`,
    )
    // Opened once per refusal streak; polling must not keep stealing the page.
    if (!asked) {
      asked = true
      setOpen(true)
    }
  })
  form.addEventListener('submit', () => {
    asked = false
  })
  setOpen(false)
  sync()
  return { button, panel }
}
