import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

/**
 * Builds the dashboard (`dashboard/`) into `dist/dashboard/`: one minified ES module with uPlot
 * inlined (`app.js`), one stylesheet (`app.css`, uPlot's included) and the HTML shell. Nothing is
 * fetched from elsewhere at run time: the page loads only from coinpipe's own origin.
 */
const OUT = 'dist/dashboard'
/** The budget for the page's JS and CSS together, gzipped. */
const BUDGET_GZIP_BYTES = 150 * 1024

rmSync(OUT, { recursive: true, force: true })
mkdirSync(OUT, { recursive: true })
await build({
  entryPoints: { app: 'dashboard/src/main.ts' },
  outdir: OUT,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
})
copyFileSync('dashboard/index.html', `${OUT}/index.html`)

const gzipped = ['app.js', 'app.css'].reduce(
  (total, file) => total + gzipSync(readFileSync(`${OUT}/${file}`)).length,
  0,
)
if (gzipped > BUDGET_GZIP_BYTES)
  throw new Error(
    `the dashboard's JS and CSS weigh ${gzipped} bytes gzipped, over the ${BUDGET_GZIP_BYTES} budget`,
  )
