// The base of every command: --json through oclif (run() returns the result), --quiet and
// --verbose, settings, and the one place that sets the exit code (docs/CONTRACT.md).
// oclif by subpath: its index loads all of oclif, and semver for an engine check, at every start.
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type {Input, ParserOutput} from '@oclif/core/interfaces'
import {resolveSettings, type Settings} from '../core/config/settings.js'
import {withJob, type JobContext, type OpenOptions} from '../core/context.js'
import {CkptError, EXIT, messageOf, type ExitCode} from '../core/errors.js'
import {interrupt} from '../core/interrupt.js'
import {refuseDuringRun} from '../core/runner/run-record.js'
import {redact} from '../core/util/redact.js'
import {progressDisplay, progressMode, type ProgressDisplay} from './progress.js'
import {errorLabel, noteLabel, warningLabel} from './render.js'

/** The job settings a command may offer as flags (cli/flags.ts); each command offers only its own. */
export interface JobFlags {
  'job-file'?: string
  primary?: string
  'local-root'?: string[]
  node?: string
  'block-size'?: number
  concurrency?: number
}

// oclif's own names for parse's type parameters, which its interfaces do not export (oclif types them as `any` too).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlagOutput = {[name: string]: any}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ArgOutput = {[name: string]: any}

export abstract class CkptCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    // oclif adds --json for enableJsonFlag; this gives it ckpt's words.
    json: Flags.boolean({summary: 'Print one JSON document on stdout and nothing else there.', helpGroup: 'GLOBAL'}),
    quiet: Flags.boolean({char: 'q', summary: 'Print results, warnings and errors only: no progress, notes or hints.', helpGroup: 'GLOBAL', exclusive: ['verbose']}),
    verbose: Flags.boolean({summary: 'Also print the settings ckpt resolved, and the stack of an error.', helpGroup: 'GLOBAL'}),
  }

  protected quiet = false
  protected verbose = false
  /** Set by the first SIGINT/SIGTERM: from then on only the interruption is reported. */
  private interrupted = false

  override async init(): Promise<void> {
    await super.init()
    // `ckpt run` stops its tasks itself (src/core/runner/signals.ts).
    if (this.id !== 'run') this.onInterruptSignals()
  }

  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(options?: Input<F, B, A>, argv?: string[]): Promise<ParserOutput<F, B, A>> {
    const parsed = await super.parse<F, B, A>(options, argv)
    const flags = parsed.flags as {quiet?: boolean; verbose?: boolean}
    this.quiet = flags.quiet === true
    this.verbose = flags.verbose === true
    return parsed
  }

  /** The one place that sets the exit code. */
  private setExit(code: ExitCode | number): void {
    process.exitCode = code
  }

  /** A result that ends with a non-zero exit code (verify's problems, a run's end). */
  protected endWith(code: ExitCode | number): void {
    this.setExit(code)
  }

  /** First signal: undo what this process made, report it, exit 130. A second signal exits at once. */
  private onInterruptSignals(): void {
    const handler = (signal: NodeJS.Signals) => {
      this.setExit(EXIT.interrupted)
      if (this.interrupted) process.exit()
      this.interrupted = true
      void interrupt(signal, {onWarning: (m) => this.warning(m)}).finally(() => {
        const message = `interrupted by ${signal}: ckpt ${this.id?.replaceAll(':', ' ') ?? ''} stopped and removed what it had made (its lock, temporary objects, partial copies, staging)`
        if (this.jsonEnabled()) this.logJson({error: {message, code: 'INTERRUPTED', exit: EXIT.interrupted}})
        else process.stderr.write(`${errorLabel('Interrupted:')} ${message}\n`)
        process.exit()
      })
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  }

  protected async settings(flags: JobFlags): Promise<Settings> {
    const settings = await resolveSettings({
      jobFile: flags['job-file'],
      primary: flags.primary,
      localRoots: flags['local-root'],
      node: flags.node,
      blockSize: flags['block-size'],
      concurrency: flags.concurrency,
    })
    if (this.verbose) this.note(`job ${settings.job.name} (${settings.job.file}), primary ${settings.primaryUrl}, node ${settings.node}, local roots ${settings.localRoots.join(', ')}`)
    return settings
  }

  /**
   * Resolves settings, opens the job's stores, runs fn and closes them. A missing file primary is
   * refused (exit 5) unless options.createPrimary: only a take or a run may start a new store, and says so.
   * `refuseDuringRun` names work refused while `ckpt run` runs the job on this node.
   */
  protected async withJob<T>(flags: JobFlags, fn: (ctx: JobContext) => Promise<T>, options: OpenOptions & {refuseDuringRun?: string} = {}): Promise<T> {
    const {refuseDuringRun: refused, ...open} = options
    const settings = await this.settings(flags)
    // Before the store is opened: a refused take must not create a store or record the job first.
    if (refused) await refuseDuringRun(settings, refused)
    return withJob(
      settings,
      async (ctx) => {
        if (ctx.createdPrimary) this.note(`created a new primary store at ${ctx.primary.displayUrl} (it did not exist)`)
        return fn(ctx)
      },
      {createPrimary: false, ...open},
    )
  }

  /** Progress on stderr as --progress asks (src/cli/progress.ts); none under --quiet. */
  protected progressDisplay(flags: {progress?: string}): ProgressDisplay {
    return progressDisplay(progressMode({progress: flags.progress, quiet: this.quiet}))
  }

  /** Renders the result for people (not under --json) and returns it for oclif's --json. */
  protected show<T>(result: T, render: (result: T) => void): T {
    if (!this.jsonEnabled() && !this.interrupted) render(result)
    return result
  }

  /** Human output goes to stdout only without --json. */
  protected say(text = ''): void {
    if (!this.jsonEnabled() && !this.interrupted) process.stdout.write(redact(text) + '\n')
  }

  /** Notes and hints go to stderr, none under --quiet. */
  protected note(message: string): void {
    if (!this.quiet) process.stderr.write(`${noteLabel('ckpt:')} ${redact(message)}\n`)
  }

  /** Warnings go to stderr, so stdout stays one JSON document under --json. */
  protected warning(message: string): void {
    process.stderr.write(`${warningLabel('Warning:')} ${redact(message)}\n`)
  }

  /** oclif prints the --json document (a result, or toErrorJson's) through this: redacted, and nothing but the interruption once interrupted. */
  override logJson(document: unknown): void {
    if (this.interrupted && !(document as {error?: {code?: string}}).error?.code?.startsWith('INTERRUPTED')) return
    process.stdout.write(redact(JSON.stringify(document, null, 2)) + '\n')
  }

  /** The error document of docs/CONTRACT.md: {error: {message, code, exit}}. */
  override toErrorJson(error: unknown): {error: {message: string; code: string; exit: number}} {
    const exit = exitOf(error)
    return {error: {message: redact(plainMessage(error)), code: error instanceof CkptError ? error.code : exit === EXIT.usage ? 'USAGE' : 'FAILED', exit}}
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    if (this.interrupted) return // the interruption is reported instead (onInterruptSignals)
    this.setExit(exitOf(error))
    if (this.jsonEnabled()) this.logJson(this.toErrorJson(error))
    else process.stderr.write(`${errorLabel('Error:')} ${redact(plainMessage(error))}\n`)
    if (this.verbose || /(^|,)\s*ckpt/.test(process.env.DEBUG ?? '')) process.stderr.write(redact(String(error.stack ?? '')) + '\n')
  }
}

function exitOf(error: unknown): number {
  if (error instanceof CkptError) return error.exit
  return (error as {oclif?: {exit?: number}}).oclif?.exit ?? EXIT.failed
}

/** The message alone: oclif wraps a flag's parse error in "Parsing --flag" and "See more help". */
function plainMessage(error: unknown): string {
  const message = messageOf(error)
  return error instanceof CkptError ? message.replace(/^Parsing --\S+ \n\t/, '').replace(/\nSee more help with --help$/, '') : message
}
