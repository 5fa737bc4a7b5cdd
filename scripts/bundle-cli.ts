import { chmodSync, readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

/**
 * Bundles the compiled CLI (`dist/main.js`, from tsc) into `dist/bin/coinpipe.js`, the `coinpipe`
 * command. Kysely is inlined: loaded from node_modules it is 263 ES modules, a third of a short
 * command's start-up. Every other dependency stays external (native addons, pino's worker
 * transports, swagger-ui's static files), and each command's module stays a chunk loaded on use.
 */
const INLINED = new Set(['kysely'])

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }
rmSync('dist/bin', { recursive: true, force: true })
await build({
  entryPoints: { coinpipe: 'dist/main.js' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: Object.keys(pkg.dependencies).filter((name) => !INLINED.has(name)),
  logLevel: 'warning',
})
chmodSync('dist/bin/coinpipe.js', 0o755)
