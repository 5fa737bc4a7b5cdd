#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander'
import { CliError } from './cli/cli-context.js'
import { etlReplayCommand } from './cli/commands/etl-replay.js'
import { etlResetCommand } from './cli/commands/etl-reset.js'
import { etlRunCommand } from './cli/commands/etl-run.js'
import { migrateCommand } from './cli/commands/migrate.js'
import { serveCommand } from './cli/commands/serve.js'
import { EXIT, exitCodeFor } from './cli/exit-codes.js'
import { AppError } from './errors.js'

const collect = (value: string, previous: string[]) => [...previous, value]
const collectId = (value: string, previous: number[]) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a batch id is a positive integer')
  return [...previous, Number(value)]
}

/** argv → command. Every command is a thin door into the pipeline; failures become one sentence and an exit code. */
function program(): Command {
  const cli = new Command('coinpipe')
    .description(
      'Crypto market-data pipeline and API: CoinGecko, CoinPaprika and CSV, unified per asset.\nConfiguration comes from the environment (and .env); see README.md.',
    )
    .showHelpAfterError()
    .exitOverride()

  cli
    .command('serve')
    .description('apply migrations, then serve the API and dashboard and run the ETL schedule')
    .action(serveCommand)
  cli
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => exit(await migrateCommand()))
  cli
    .command('worker')
    .description('process queued ETL jobs from Redis (needs REDIS_URL)')
    .action(() => {
      throw new CliError(
        'the BullMQ worker is not available in this build; run `coinpipe serve`, which runs ETL in-process',
        EXIT.CONFIG,
      )
    })

  const etl = cli.command('etl').description('run, replay or reset the ETL by hand')
  etl
    .command('run')
    .description(
      'run sources now and print a summary; exit 0 when every run succeeded or was partial, 1 when one failed',
    )
    .option('-s, --source <name>', 'a source to run (repeatable); default: every enabled source', collect, [])
    .option(
      '-f, --file <csv>',
      'import this CSV file instead of CSV_PATHS (repeatable; implies --source csv)',
      collect,
      [],
    )
    .option('--json', 'print the summary as JSON', false)
    .action(async (options: { source: string[]; file: string[]; json: boolean }) =>
      exit(await etlRunCommand(options)),
    )
  etl
    .command('replay')
    .description('re-transform stored raw batches without touching the network')
    .option('-b, --batch <id>', 'a raw batch id (repeatable)', collectId, [])
    .option('--failed', 'every batch whose status is failed', false)
    .option('--json', 'print the outcome as JSON', false)
    .action(async (options: { batch: number[]; failed: boolean; json: boolean }) =>
      exit(await etlReplayCommand(options)),
    )
  etl
    .command('reset')
    .description('forget checkpoints, so the next run of the source starts over')
    .requiredOption('-s, --source <name>', 'the source')
    .option('--stream <name>', 'only this stream (for csv: the file path)')
    .action(async (options: { source: string; stream?: string }) => exit(await etlResetCommand(options)))
  return cli
}

function exit(code: number): void {
  process.exitCode = code
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
  } else {
    console.error('coinpipe: unexpected error (this is a bug):', error)
    process.exitCode = EXIT.INTERNAL
  }
}
