/** The dashboard: one self-contained page over the public read API (no build step, no CDN). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>coinpipe</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2430; background: #f6f7f9; }
  body { margin: 0; }
  header { background: #1d2430; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 20px; margin: 0; }
  header a { color: #9cc3ff; }
  main { padding: 16px 24px; display: grid; gap: 16px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; overflow-x: auto; }
  h2 { font-size: 16px; margin: 4px 0 12px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceef2; white-space: nowrap; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .pill { padding: 2px 8px; border-radius: 10px; font-size: 12px; }
  .ok, .succeeded { background: #d9f5e3; } .degraded, .partial, .running { background: #fff1c2; } .down, .failed { background: #ffd9d9; } .skipped, .queued { background: #e8e8e8; }
  form { display: flex; gap: 8px; margin-bottom: 8px; }
  input, select, button { font: inherit; padding: 4px 8px; }
</style>
</head>
<body>
<header><h1>coinpipe</h1><span id="health" class="pill">…</span><a href="/docs">API docs</a><a href="/openapi.json">OpenAPI</a></header>
<main>
  <section><h2>Sources</h2><table id="sources"><thead><tr><th>source</th><th>enabled</th><th>last run</th><th>status</th><th>started</th><th>error</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Recent runs</h2><table id="runs"><thead><tr><th>run</th><th>source</th><th>trigger</th><th>status</th><th>started</th><th>duration ms</th><th>loaded</th><th>unchanged</th><th>rejected</th><th>error</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Latest records</h2>
    <form id="filter"><input name="symbol" placeholder="symbol, e.g. BTC"><select name="source"><option value="">any source</option><option>coingecko</option><option>coinpaprika</option><option>csv</option><option>manual</option></select><button>Show</button><button type="button" id="more">Next page</button></form>
    <table id="records"><thead><tr><th>observed at</th><th>asset</th><th>symbol</th><th>source</th><th>price USD</th><th>market cap USD</th><th>volume 24h USD</th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Recent rejections</h2><table id="rejections"><thead><tr><th>source</th><th>run</th><th>line</th><th>reason</th><th>message</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
const fmt = (v) => v === null || v === undefined ? '—' : typeof v === 'number' ? v.toLocaleString('en-US', { maximumSignificantDigits: 8 }) : String(v)
const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td }
const fill = (id, rows, cols) => {
  const body = document.querySelector('#' + id + ' tbody'); body.replaceChildren()
  for (const row of rows) { const tr = document.createElement('tr'); for (const [get, cls] of cols) tr.append(cell(fmt(get(row)), cls)); body.append(tr) }
}
let next = null
async function health() {
  const res = await fetch('/health'); const h = await res.json()
  const el = document.getElementById('health'); el.textContent = h.status + ' · ' + h.database.kind; el.className = 'pill ' + h.status
  fill('sources', h.sources, [[(s) => s.source], [(s) => s.enabled ? 'yes' : 'no'], [(s) => s.last_run && s.last_run.id], [(s) => s.last_run && s.last_run.status], [(s) => s.last_run && s.last_run.started_at], [(s) => s.last_run && s.last_run.error_code]])
}
async function runs() {
  const res = await fetch('/api/v1/runs?limit=10'); const body = await res.json()
  if (!res.ok) return
  fill('runs', body.data, [[(r) => r.id ?? r.job_id], [(r) => r.source], [(r) => r.trigger], [(r) => r.status], [(r) => r.started_at ?? r.queued_at], [(r) => r.duration_ms, 'num'], [(r) => r.loaded, 'num'], [(r) => r.unchanged, 'num'], [(r) => r.rejected, 'num'], [(r) => r.error_code]])
  for (const [i, row] of body.data.entries()) document.querySelectorAll('#runs tbody tr')[i].children[3].className = row.status
}
async function records(cursor) {
  const form = new FormData(document.getElementById('filter')); const params = new URLSearchParams({ limit: '50' })
  for (const [k, v] of form) if (v) params.set(k, String(v))
  if (cursor) params.set('cursor', cursor)
  const res = await fetch('/api/v1/records?' + params); const body = await res.json()
  if (!res.ok) { alert(body.detail); return }
  next = body.page.next_cursor
  fill('records', body.data, [[(r) => r.observed_at], [(r) => r.asset_id], [(r) => r.symbol], [(r) => r.source], [(r) => r.price_usd, 'num'], [(r) => r.market_cap_usd, 'num'], [(r) => r.volume_24h_usd, 'num']])
}
async function rejections() {
  const res = await fetch('/api/v1/rejections?limit=20'); const body = await res.json()
  fill('rejections', body.data, [[(r) => r.source], [(r) => r.run_id], [(r) => r.line], [(r) => r.reason_code], [(r) => r.message]])
}
document.getElementById('filter').addEventListener('submit', (e) => { e.preventDefault(); records() })
document.getElementById('more').addEventListener('click', () => next && records(next))
health(); runs(); records(); rejections(); setInterval(() => { health(); runs() }, 15000)
</script>
</body>
</html>
`
