#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { CliError } from './cli/cli-error.js'
import { EXIT, exitCodeFor } from './cli/exit-codes.js'
import {
  ETL_BACKFILL_HELP,
  ETL_HELP,
  ETL_REPLAY_HELP,
  ETL_RESET_HELP,
  ETL_RUN_HELP,
  EXPORT_HELP,
  MIGRATE_HELP,
  PROGRAM_HELP,
  SERVE_HELP,
  WORKER_HELP,
} from './cli/help-text.js'
import { PACKAGE_ROOT, RECORD_SOURCES, SOURCE_NAMES, tracingRequested } from './config.js'
import { isDatabaseUnreachable } from './db/connection-error.js'
import { AppError, errorMessage } from './errors.js'

// Repeatable options start undefined (so --help shows no "(default: [])") and collect from there.
const collect = (value: string, previous: string[] = []) => [...previous, value]
const collectId = (value: string, previous: number[] = []) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a batch id is a positive integer')
  return [...previous, Number(value)]
}

const positiveInt = (value: string) => {
  if (!/^[1-9]\d{0,3}$/.test(value)) throw new InvalidArgumentError('a whole number from 1 to 9999')
  return Number(value)
}

// Each command's module is imported when the command runs: `--help` and a CSV import never load the
// HTTP stack, and `serve` never loads what only the CLI prints.
const commands = {
  serve: () => import('./cli/commands/serve.js'),
  migrate: () => import('./cli/commands/migrate.js'),
  etlRun: () => import('./cli/commands/etl-run.js'),
  etlBackfill: () => import('./cli/commands/etl-backfill.js'),
  etlReplay: () => import('./cli/commands/etl-replay.js'),
  etlReset: () => import('./cli/commands/etl-reset.js'),
  assetsRemap: () => import('./cli/commands/assets-remap.js'),
  export: () => import('./cli/commands/export.js'),
  worker: () => import('./cli/commands/worker.js'),
}

/** argv → command. Every command is a thin door into the pipeline; failures become one sentence and an exit code. */
function program(): Command {
  const cli = new Command('coinpipe')
    .description(
      'Crypto market-data pipeline and API: CoinGecko, CoinPaprika and CSV, unified per asset.\nConfiguration comes from the environment (and .env); see README.md.',
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for a command')
    // A usage mistake gets one line, like every other failure, and a pointer rather than a wall of help.
    .configureOutput({
      outputError: (message, write) =>
        write(`coinpipe: ${message.replace(/^error: /, '').trimEnd()} (add --help for usage)\n`),
    })
    .exitOverride()
    .addHelpText('after', PROGRAM_HELP)
    // Before any command's module loads, and only when a command runs (never for --help): tracing
    // starts when OTEL_* asks for it, and the OpenTelemetry SDK is never loaded otherwise.
    .hook('preAction', async () => {
      if (!tracingRequested()) return
      try {
        const { startTelemetry } = await import('./telemetry/start-telemetry.js')
        startTelemetry(packageVersion())
      } catch (error) {
        // Traces are worth less than the command: it runs untraced.
        console.error(
          `coinpipe: tracing is off: the OpenTelemetry SDK did not start (${errorMessage(error)})`,
        )
      }
    })

  cli
    .command('serve')
    .description('apply migrations, then serve the API and dashboard and run the ETL schedule')
    .addHelpText('after', SERVE_HELP)
    .action(async () => (await commands.serve()).serveCommand())
  cli
    .command('migrate')
    .description('apply pending database migrations (every other command applies them too)')
    .addHelpText('after', MIGRATE_HELP)
    .action(async () => exit(await (await commands.migrate()).migrateCommand()))
  cli
    .command('worker')
    .description('process queued ETL jobs from Redis (needs REDIS_URL)')
    .option(
      '-c, --concurrency <n>',
      'jobs run at once (default: one per enabled source; a source never runs twice at once)',
      positiveInt,
    )
    .addHelpText('after', WORKER_HELP)
    .action(async (options: { concurrency?: number }) =>
      (await commands.worker()).workerCommand({ concurrency: options.concurrency }),
    )

  const etl = cli
    .command('etl')
    .description('run, replay or reset the ETL by hand')
    .addHelpText('after', ETL_HELP)
  etl
    .command('run')
    .description(
      'run sources now and print a summary; exit 0 when every run succeeded or was partial, 1 when one failed',
    )
    .option(
      '-s, --source <name>',
      `a source to run: ${SOURCE_NAMES.join(', ')} (repeatable); default: every enabled source (SOURCES)`,
      collect,
    )
    .option(
      '-f, --file <csv>',
      'import this CSV file instead of CSV_PATHS (repeatable; implies --source csv)',
      collect,
    )
    .option('--json', 'print the summary as JSON on stdout, and no progress line')
    .option(
      '--enqueue',
      'queue mode (REDIS_URL): put the runs on the queue for the workers and wait for their results',
    )
    .addHelpText('after', ETL_RUN_HELP)
    .action(async (options: { source?: string[]; file?: string[]; json?: boolean; enqueue?: boolean }) =>
      exit(
        await (
          await commands.etlRun()
        ).etlRunCommand({
          source: options.source ?? [],
          file: options.file ?? [],
          json: options.json === true,
          enqueue: options.enqueue === true,
        }),
      ),
    )
  etl
    .command('backfill')
    .description(
      "read assets' past from a source's history (one run, trigger backfill); exit 0 when it succeeded or was partial, 1 when it failed",
    )
    .requiredOption('-s, --source <name>', 'the history upstream: coingecko or coinpaprika')
    .option(
      '-a, --asset <id>',
      "an asset (repeatable): the source's own id (bitcoin, btc-bitcoin) or a canonical asset id",
      collect,
    )
    .option('--top <n>', 'also the first N assets by market cap now', positiveInt)
    .requiredOption('--from <date>', 'start, inclusive: ISO 8601 (2025-01-01 or 2025-01-01T00:00:00Z)')
    .option('--to <date>', 'end, exclusive: ISO 8601; default: now')
    .option('--json', 'print the summary as JSON on stdout, and no progress line')
    .addHelpText('after', ETL_BACKFILL_HELP)
    .action(
      async (options: {
        source: string
        asset?: string[]
        top?: number
        from: string
        to?: string
        json?: boolean
      }) =>
        exit(
          await (
            await commands.etlBackfill()
          ).etlBackfillCommand({
            source: options.source,
            assets: options.asset ?? [],
            top: options.top,
            from: options.from,
            to: options.to,
            json: options.json === true,
          }),
        ),
    )
  etl
    .command('replay')
    .description('re-transform stored raw batches without touching the network')
    .option('-b, --batch <id>', 'a raw batch id (repeatable), as in GET /api/v1/batches/{id}', collectId)
    .option('--failed', 'every batch whose status is failed')
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', ETL_REPLAY_HELP)
    .action(async (options: { batch?: number[]; failed?: boolean; json?: boolean }) =>
      exit(
        await (
          await commands.etlReplay()
        ).etlReplayCommand({
          batch: options.batch ?? [],
          failed: options.failed === true,
          json: options.json === true,
        }),
      ),
    )
  etl
    .command('reset')
    .description('forget checkpoints, so the next run of the source starts over')
    .requiredOption('-s, --source <name>', `the source: ${SOURCE_NAMES.join(', ')}`)
    .option(
      '--stream <name>',
      'only this stream (coingecko: markets, coinpaprika: tickers, a backfill: history:<asset id>, csv: the file path)',
    )
    .addHelpText('after', ETL_RESET_HELP)
    .action(async (options: { source: string; stream?: string }) =>
      exit(await (await commands.etlReset()).etlResetCommand(options)),
    )
  cli
    .command('assets')
    .description('canonical assets: re-resolve identity across sources')
    .command('remap')
    .description(
      're-resolve every source asset from all the evidence (overrides, contracts, names, prices), merge or split assets and move their records; writes an audit trail',
    )
    .option('--dry-run', 'show what would move and change nothing')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      `
Run it after editing the override file (IDENTITY_OVERRIDES_PATH) or changing IDENTITY_PRICE_TOLERANCE_PCT.
Nothing is lost: records move with their source's alias; a record that meets an identical one is
dropped as a copy, one that meets a different one is kept as an IDENTITY_REMAP_CONFLICT rejection.
Every moved alias is written to the asset_remaps table with the records that moved.

Examples:
  coinpipe assets remap --dry-run
  coinpipe assets remap --json`,
    )
    .action(async (options: { dryRun?: boolean; json?: boolean }) =>
      exit(
        await (
          await commands.assetsRemap()
        ).assetsRemapCommand({ dryRun: options.dryRun === true, json: options.json === true }),
      ),
    )
  cli
    .command('export')
    .description('write records to a CSV or Parquet file, streamed in chunks whatever their number')
    .addOption(
      new Option('--format <format>', 'the file format')
        .choices(['csv', 'parquet'] as const)
        .makeOptionMandatory(),
    )
    .option('-a, --asset <id>', 'a canonical asset id (repeatable); default: every asset', collect)
    .addOption(new Option('-s, --source <name>', 'only records of this source').choices(RECORD_SOURCES))
    .option('--from <date>', 'records observed at or after this time (ISO 8601 date or date-time, UTC)')
    .option('--to <date>', 'records observed before this time')
    .requiredOption('-o, --out <file>', 'the file to write (replaced; it appears only once complete)')
    .addHelpText('after', EXPORT_HELP)
    .action(
      async (options: {
        format: 'csv' | 'parquet'
        asset?: string[]
        source?: string
        from?: string
        to?: string
        out: string
      }) => exit(await (await commands.export()).exportCommand({ ...options, asset: options.asset ?? [] })),
    )
  return cli
}

function exit(code: number): void {
  process.exitCode = code
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }
    return pkg.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

try {
  await program().parseAsync(process.argv)
} catch (error) {
  const commanderCode = (error as { code?: string }).code
  if (commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version')
    process.exitCode = EXIT.OK
  else if (commanderCode?.startsWith('commander.')) process.exitCode = EXIT.CONFIG
  else if (error instanceof CliError) {
    console.error(`coinpipe: ${error.message}`)
    process.exitCode = error.exitCode
  } else if (error instanceof AppError) {
    console.error(`coinpipe: ${error.message}`)
    process.exitCode = exitCodeFor(error)
  } else if (isDatabaseUnreachable(error)) {
    // The database went away mid-command: an operator's problem, told in one sentence.
    console.error(
      `coinpipe: lost the database (${errorMessage(error)}); check that it is up and run the command again`,
    )
    process.exitCode = EXIT.DATABASE
  } else {
    console.error('coinpipe: unexpected error (this is a bug):', error)
    process.exitCode = EXIT.INTERNAL
  }
}
