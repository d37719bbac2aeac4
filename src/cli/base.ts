// The base of every command: the shared flags, settings, --json output and one place that maps
// errors to the exit codes of docs/CONTRACT.md.
// oclif by subpath: its index loads all of oclif, and semver for an engine check, at every start.
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import {parseSize} from '../core/config/units.js'
import {resolveSettings, type Settings} from '../core/config/settings.js'
import {withJob, type JobContext, type OpenOptions} from '../core/context.js'
import {CkptError, EXIT, messageOf} from '../core/errors.js'
import {interrupt} from '../core/interrupt.js'
import {refuseDuringRun} from '../core/runner/run-record.js'
import {redact} from '../core/util/redact.js'
import {paint, useColor} from './render.js'

export const EXIT_STATUS = `EXIT STATUS
  0    success
  1    the operation failed
  2    bad usage, job file or input
  3    verify found a problem
  4    nothing could be restored
  5    a store could not be reached or refused the credentials
  130  interrupted`

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof CkptCommand)['baseFlags'] & T['flags']>

export abstract class CkptCommand extends Command {
  static baseFlags = {
    'job-file': Flags.string({char: 'j', summary: 'Job file (env CKPT_JOB_FILE; default ./ckpt.json).', helpGroup: 'GLOBAL'}),
    primary: Flags.string({summary: 'Primary store: a folder, file://PATH, azure://CONTAINER[/PREFIX] or a container URL with SAS (env CKPT_PRIMARY).', helpGroup: 'GLOBAL'}),
    'local-root': Flags.string({summary: 'Folder for secondary copies; repeatable (env CKPT_LOCAL_ROOTS, colon-separated).', multiple: true, helpGroup: 'GLOBAL'}),
    node: Flags.string({summary: 'This node\'s identity (env CKPT_NODE; default the host name).', helpGroup: 'GLOBAL'}),
    'block-size': Flags.string({summary: 'Transfer block size for remote stores, e.g. 8MiB (job file transfer.blockSize).', helpGroup: 'GLOBAL'}),
    concurrency: Flags.integer({summary: 'Parallel blocks or ranges per transfer (job file transfer.concurrency).', min: 1, helpGroup: 'GLOBAL'}),
    json: Flags.boolean({summary: 'Print one JSON document on stdout and nothing else there.', helpGroup: 'GLOBAL'}),
  }

  /** Set by the first SIGINT/SIGTERM: from then on only the interruption is reported. */
  private interrupted = false

  override async init(): Promise<void> {
    await super.init()
    // `ckpt run` stops its tasks itself (src/core/runner/signals.ts).
    if (this.id !== 'run') this.onInterruptSignals()
  }

  /** First signal: undo what this process made, report it, exit 130. A second signal exits at once. */
  private onInterruptSignals(): void {
    const handler = (signal: NodeJS.Signals) => {
      if (this.interrupted) process.exit(EXIT.interrupted)
      this.interrupted = true
      process.exitCode = EXIT.interrupted
      void interrupt(signal, {onWarning: (m) => this.warning(m)}).finally(() => {
        const message = `interrupted by ${signal}: ckpt ${this.id?.replaceAll(':', ' ') ?? ''} stopped and removed what it had made (its lock, temporary objects, partial copies, staging)`
        if (this.jsonMode) this.printJson({error: {message, code: 'INTERRUPTED', exit: EXIT.interrupted}})
        else process.stderr.write(`${paint.red('Interrupted:', useColor(process.stderr))} ${message}\n`)
        process.exit(EXIT.interrupted)
      })
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  }

  protected get jsonMode(): boolean {
    return this.argv.includes('--json')
  }

  protected async settings(flags: {'job-file'?: string; primary?: string; 'local-root'?: string[]; node?: string; 'block-size'?: string; concurrency?: number}): Promise<Settings> {
    let blockSize: number | undefined
    if (flags['block-size'] !== undefined) {
      blockSize = parseSize(flags['block-size'])
      if (!blockSize) throw new Errors.CLIError(`--block-size ${flags['block-size']}: not a size; use bytes or a value like 4MiB`, {exit: EXIT.usage})
    }
    return resolveSettings({jobFile: flags['job-file'], primary: flags.primary, localRoots: flags['local-root'], node: flags.node, blockSize, concurrency: flags.concurrency})
  }

  /**
   * Resolves settings, opens the job's stores, runs fn and closes them. A missing file primary is
   * refused (exit 5) unless options.createStore: only a take or a run may start a new store, and says so.
   * `refuseDuringRun` names work refused while `ckpt run` runs the job on this node.
   */
  protected async withJob<T>(flags: Parameters<CkptCommand['settings']>[0], fn: (ctx: JobContext) => Promise<T>, options: OpenOptions & {refuseDuringRun?: string} = {}): Promise<T> {
    const {refuseDuringRun: refused, ...open} = options
    const settings = await this.settings(flags)
    // Before the store is opened: a refused take must not create a store or record the job first.
    if (refused) await refuseDuringRun(settings, refused)
    return withJob(
      settings,
      async (ctx) => {
        if (ctx.createdPrimary) process.stderr.write(`${redact(`created a new primary store at ${ctx.store.displayUrl} (it did not exist)`)}\n`)
        return fn(ctx)
      },
      {createStore: false, ...open},
    )
  }

  /** Human output goes to stdout only without --json. */
  protected say(text = ''): void {
    if (!this.jsonMode && !this.interrupted) process.stdout.write(redact(text) + '\n')
  }

  /** Warnings and progress go to stderr, so stdout stays one JSON document under --json. */
  protected warning(message: string): void {
    process.stderr.write(`${paint.yellow('Warning:', useColor(process.stderr))} ${redact(message)}\n`)
  }

  protected printJson(document: unknown): void {
    if (this.interrupted && !(document as {error?: {code?: string}}).error?.code?.startsWith('INTERRUPTED')) return
    process.stdout.write(redact(JSON.stringify(document, null, 2)) + '\n')
  }

  /** Prints the result: the document itself under --json, else the human rendering. */
  protected output<T>(result: T, render: (result: T) => void): void {
    if (this.jsonMode) this.printJson(result)
    else render(result)
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    if (this.interrupted) return // the interruption is reported instead (onInterruptSignals)
    const exit = error instanceof CkptError ? error.exit : (error.oclif?.exit ?? EXIT.failed)
    const code = error instanceof CkptError ? error.code : exit === EXIT.usage ? 'USAGE' : 'FAILED'
    const message = redact(messageOf(error))
    if (this.jsonMode) this.printJson({error: {message, code, exit}})
    else process.stderr.write(`${paint.red('Error:', useColor(process.stderr))} ${message}\n`)
    if (/(^|,)\s*ckpt/.test(process.env.DEBUG ?? '')) process.stderr.write(redact(String(error.stack ?? '')) + '\n')
    process.exitCode = exit
  }
}
