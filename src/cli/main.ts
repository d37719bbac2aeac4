// The CLI's entry (bin/run.js): oclif's run, with errors raised outside a command (a mistyped
// command, a bad topic) in the same words and exit codes as a command's own (cli/base.ts).
import {flush} from '@oclif/core/flush'
import {run} from '@oclif/core/run'
import {CLIError} from '@oclif/core/errors'
import type {Hook} from '@oclif/core/hooks'
import {EXIT} from '../core/errors.js'
import {ANSI, errorLabel, warningLabel} from './render.js'

export async function execute(options: {dir: string}): Promise<void> {
  try {
    await run(process.argv.slice(2), options.dir)
    await flush()
  } catch (error) {
    const {message, oclif} = error as CLIError
    if (oclif?.exit === 0) return
    process.stderr.write(`${errorLabel('Error:')} ${message.replace(ANSI, '')}\n`)
    process.exitCode = oclif?.exit ?? EXIT.failed
  }
}

/**
 * command_not_found (package.json oclif.hooks): @oclif/plugin-not-found's "did you mean", loaded
 * only on a miss, given a context that warns in ckpt's words and refuses with exit 2 (bad usage).
 */
export const NOT_FOUND: Hook<'command_not_found'> = async function (opts) {
  // A real import() at run time, not bundled: the plugin and its prompt load only when needed.
  const {default: hook} = (await import('@oclif/plugin-not-found')) as {default: Hook<'command_not_found'>}
  const context: Hook.Context = {
    ...this,
    warn: (message: string | Error) => process.stderr.write(`${warningLabel('Warning:')} ${String(message instanceof Error ? message.message : message).replace(ANSI, '')}\n`),
    error: (message: string | Error) => {
      const text = String(message instanceof Error ? message.message : message)
        .replace(ANSI, '')
        .replace(/^Run (.*) for a list/, "Run '$1' for a list")
      // On a terminal the plugin asked "Did you mean ...?"; a script or a log gets the suggestion here.
      const suggestion = process.stdin.isTTY
        ? undefined
        : closest(
            opts.id,
            opts.config.commands.filter((c) => !c.hidden).map((c) => c.id),
          )
      throw new CLIError(suggestion ? `Did you mean '${suggestion.replaceAll(':', ' ')}'? ${text}` : text, {exit: EXIT.usage})
    },
  }
  return hook.call(context, opts)
}

/** The id nearest to a mistyped one, by edit distance (as the plugin finds its suggestion). */
function closest(typed: string, ids: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({length: b.length + 1}, (_, j) => j)
    for (let i = 1; i <= a.length; i++) {
      const next = [i]
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      row = next
    }
    return row[b.length]
  }
  return ids.map((id) => ({id, d: distance(typed, id)})).sort((x, y) => x.d - y.d)[0]?.id
}
