import { existsSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'

/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  readonly keyword: string
  readonly args: string
}

export interface Stage {
  readonly image: string
  readonly name: string | undefined
  readonly instructions: readonly Instruction[]
}

/**
 * The stages of a Dockerfile, enough of its grammar to hold it against the code: comments, line
 * continuations, `FROM image AS name`. Instructions before the first FROM (ARG) are dropped.
 */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line))
  const instructions: Instruction[] = []
  let pending = ''
  for (const line of lines) {
    pending += line.trimEnd()
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1) + ' '
      continue
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(pending)
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() })
    pending = ''
  }
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.replace(/^(--\S+\s+)+/, '').split(/\s+/)
      stages.push({ image: image!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] })
    } else stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

/** The arguments of every `keyword` instruction of a stage. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
}

/** Every variable the stage's ENV instructions set (`ENV A=1 B="two words"` or the old `ENV A 1`). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const args of argsOf(stage, 'ENV')) {
    if (!/^\w+=/.test(args)) {
      const [name, ...value] = args.split(/\s+/)
      env[name!] = value.join(' ')
      continue
    }
    for (const pair of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
      const raw = pair[2]!
      env[pair[1]!] = /^["']/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw
    }
  }
  return env
}

/** A command in exec form (`["node", "x.js"]`) as its argv; shell form is refused, it hides signals. */
export function execForm(args: string): string[] {
  if (!args.startsWith('[')) throw new Error(`not in exec form: ${args}`)
  return JSON.parse(args) as string[]
}

/** `--flag=value` options before the rest of an instruction (COPY, HEALTHCHECK), and that rest. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {}
  let rest = args
  for (let match = /^--([\w-]+)=(\S+)\s+/.exec(rest); match; match = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    flags[match[1]!] = match[2]!
    rest = rest.slice(match[0].length)
  }
  return { flags, rest }
}

/**
 * An image's command as it runs on this machine: `node` is this Node, and a relative path that exists
 * under `root` (the repository, laid out like the image's WORKDIR) is taken from there.
 */
export function commandOnHost(argv: readonly string[], root: string): [string, string[]] {
  const [command, ...args] = argv
  const local = (arg: string) => (!isAbsolute(arg) && existsSync(join(root, arg)) ? join(root, arg) : arg)
  return [command === 'node' ? process.execPath : command!, args.map(local)]
}
