// What each command's help says beyond its flags: the exit codes it can return and the
// environment variables it reads, from one table (test/commands/help.test.ts checks each command).
import {CommandHelp, Help} from '@oclif/core/help'
import {EXIT, type ExitCode} from '../core/errors.js'

export const EXIT_MEANINGS: Record<ExitCode, string> = {
  [EXIT.ok]: 'success',
  [EXIT.failed]: 'the operation failed',
  [EXIT.usage]: 'bad usage, job file or input',
  [EXIT.verify]: 'verify found a problem',
  [EXIT.nothingRestored]: 'nothing could be restored',
  [EXIT.store]: 'a store could not be reached or refused the credentials',
  [EXIT.interrupted]: 'interrupted (SIGINT or SIGTERM)',
}

export const ENV_MEANINGS = {
  CKPT_JOB_FILE: 'the job file, as --job-file',
  CKPT_PRIMARY: 'the primary store, as --primary',
  CKPT_LOCAL_ROOTS: 'folders for secondary copies, colon-separated, as --local-root',
  CKPT_NODE: "this node's identity, as --node",
  AZURE_STORAGE_CONNECTION_STRING: 'the account and key (or SAS) of an azure:// primary',
  NO_COLOR: 'no colour, even on a terminal (FORCE_COLOR forces it)',
  DEBUG: "'ckpt' (or 'ckpt*') adds the stack to an error",
} as const

export type EnvName = keyof typeof ENV_MEANINGS

const {ok, failed, usage, verify, nothingRestored, store, interrupted} = EXIT
const PRIMARY: EnvName[] = ['CKPT_JOB_FILE', 'CKPT_PRIMARY', 'AZURE_STORAGE_CONNECTION_STRING']
const NODE: EnvName[] = [...PRIMARY, 'CKPT_NODE']
const LOCAL: EnvName[] = [...NODE, 'CKPT_LOCAL_ROOTS']
const TERMINAL: EnvName[] = ['NO_COLOR', 'DEBUG']

/** Per command id: the exit codes it can return and the environment it reads. */
export const COMMAND_HELP: Record<string, {exits: ExitCode[]; env: EnvName[]}> = {
  'autocomplete:fish': {exits: [ok, usage, interrupted], env: ['DEBUG']},
  init: {exits: [ok, failed, usage, interrupted], env: ['CKPT_JOB_FILE', 'CKPT_PRIMARY', 'CKPT_LOCAL_ROOTS', ...TERMINAL]},
  'checkpoint:take': {exits: [ok, failed, usage, store, interrupted], env: [...LOCAL, ...TERMINAL]},
  'checkpoint:list': {exits: [ok, failed, usage, store, interrupted], env: [...PRIMARY, ...TERMINAL]},
  'checkpoint:export': {exits: [ok, failed, usage, store, interrupted], env: [...LOCAL, ...TERMINAL]},
  'checkpoint:show': {exits: [ok, failed, usage, store, interrupted], env: [...PRIMARY, ...TERMINAL]},
  'checkpoint:verify': {exits: [ok, failed, usage, verify, store, interrupted], env: [...NODE, ...TERMINAL]},
  'checkpoint:prune': {exits: [ok, failed, usage, store, interrupted], env: [...NODE, ...TERMINAL]},
  'local:list': {exits: [ok, failed, usage, store, interrupted], env: [...LOCAL, ...TERMINAL]},
  'local:prune': {exits: [ok, failed, usage, store, interrupted], env: [...LOCAL, ...TERMINAL]},
  restore: {exits: [ok, failed, usage, nothingRestored, store, interrupted], env: [...LOCAL, ...TERMINAL]},
  run: {exits: [ok, failed, usage, nothingRestored, store, interrupted], env: [...LOCAL, ...TERMINAL]},
  status: {exits: [ok, failed, usage, store, interrupted], env: [...PRIMARY, ...TERMINAL]},
  unlock: {exits: [ok, failed, usage, store, interrupted], env: [...PRIMARY, ...TERMINAL]},
}

/** The EXIT STATUS section of a command's help: code and meaning per line. */
export function exitRows(id: string): string[][] {
  const rows = COMMAND_HELP[id].exits.map((code) => [String(code), EXIT_MEANINGS[code]])
  const note = EXIT_NOTES[id]
  return note ? [...rows, ['', note]] : rows
}

/** The ENVIRONMENT section of a command's help: variable and meaning per line. */
export function environmentRows(id: string): string[][] {
  return COMMAND_HELP[id].env.map((name) => [name, ENV_MEANINGS[name]])
}

const EXIT_NOTES: Record<string, string> = {
  run: '130 also when SIGTERM stopped the run; 0 when --duration elapsed or every task finished.',
}

/** A command's help with two more sections before its examples: ENVIRONMENT and EXIT STATUS (restic documents both). */
class CkptCommandHelp extends CommandHelp {
  protected override sections(): ReturnType<CommandHelp['sections']> {
    const sections = super.sections()
    const id = this.command.id.replaceAll(' ', ':') // help shows topic commands with their configured separator
    if (!COMMAND_HELP[id]) return sections
    const list = (rows: string[][]) => this.renderList(rows, {indentation: 0, multiline: false, spacer: '\n', stripAnsi: this.opts.stripAnsi})
    const at = sections.findIndex((section) => section.header === 'EXAMPLES')
    sections.splice(at < 0 ? sections.length : at, 0, {header: 'ENVIRONMENT', generate: () => list(environmentRows(id))}, {header: 'EXIT STATUS', generate: () => list(exitRows(id))})
    return sections
  }
}

/** oclif's help with ckpt's sections (package.json oclif.helpClass). */
export class CkptHelp extends Help {
  protected override CommandHelpClass = CkptCommandHelp
}
