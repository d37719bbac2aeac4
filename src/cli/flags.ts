// The flags that several commands share, and the flag types that need more than oclif's parsing:
// durations, sizes and the verify subset are parsed here, once, so the core receives numbers.
import * as Flags from '@oclif/core/flags'
import {parseSubset, type DataCheck} from '../core/checkpoint/verify-data.js'
import {MAX_TIMER_MS, formatDuration, parseDuration, parseSize} from '../core/config/units.js'
import {UsageError, messageOf} from '../core/errors.js'

/** Milliseconds from "30s", "10m", "1h", "7d" or a plain number of milliseconds. */
export function parseDurationFlag(name: string, input: string, options: {timer?: boolean} = {}): number {
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(input) ? Number(input) : input)
  if (ms === undefined) throw new UsageError(`--${name} ${JSON.stringify(input)}: not a duration; use milliseconds or a value like 30s, 10m, 1h, 7d`)
  // A timer fires at once above 2^31-1 ms, so a duration that feeds one may not be longer.
  if (options.timer && ms > MAX_TIMER_MS) throw new UsageError(`--${name} ${input}: longer than the longest timer ckpt can keep (${formatDuration(MAX_TIMER_MS)}); use at most 24d`)
  return ms
}

/** Bytes from "500MiB", "20GiB", "8M" or a plain number of bytes. */
export function parseSizeFlag(name: string, input: string, options: {min?: number} = {}): number {
  const bytes = parseSize(input)
  if (bytes === undefined || bytes < (options.min ?? 0)) throw new UsageError(`--${name} ${JSON.stringify(input)}: not a size; use bytes or a value like 500MiB, 20GiB`)
  return bytes
}

/** A duration flag: the command receives milliseconds. `timer` when the value feeds a timer. */
export const duration = Flags.custom<number, {timer?: boolean}>({
  helpValue: '<duration>',
  parse: async (input, _ctx, flag) => parseDurationFlag(flag.name, input, {timer: flag.timer}),
})

/** A size flag: the command receives bytes. */
export const size = Flags.custom<number, {min?: number}>({
  helpValue: '<size>',
  parse: async (input, _ctx, flag) => parseSizeFlag(flag.name, input, {min: flag.min}),
})

/** --read-data-subset N/M or P%. */
export const dataSubset = Flags.custom<DataCheck>({
  helpValue: '<N/M|P%>',
  parse: async (input, _ctx, flag) => {
    try {
      return parseSubset(input)
    } catch (error) {
      throw new UsageError(`--${flag.name} ${messageOf(error)}`)
    }
  },
})

export const lockWait = duration({summary: 'How long to wait for a conflicting lock on the job to go away, e.g. 30s (default 1m).'})

// The job's settings, offered only by the commands that use them (each command lists its own).
const JOB = 'JOB'
export const jobFile = Flags.string({char: 'j', summary: 'Job file (default ./ckpt.json).', helpGroup: JOB, helpValue: '<file>'})
export const primary = Flags.string({summary: 'Primary store: a folder, file://PATH, azure://CONTAINER[/PREFIX] or a container URL with SAS.', helpGroup: JOB, helpValue: '<address>'})
export const localRoot = Flags.string({summary: 'Folder for secondary copies; repeatable.', multiple: true, helpGroup: JOB, helpValue: '<folder>'})
export const node = Flags.string({summary: "This node's identity (default the host name).", helpGroup: JOB, helpValue: '<name>'})
export const blockSize = size({summary: 'Transfer block size for remote stores, e.g. 8MiB (job file transfer.blockSize).', min: 1, helpGroup: JOB})
export const concurrency = Flags.integer({summary: 'Parallel blocks or ranges per transfer (job file transfer.concurrency).', min: 1, helpGroup: JOB})

/** The job flags of a command that reads the primary store only. */
export const primaryFlags = {'job-file': jobFile, primary}
/** ... that also knows this node (its locks, its secondary copies). */
export const nodeFlags = {...primaryFlags, 'local-root': localRoot, node}
/** ... that also moves checkpoint data. */
export const transferFlags = {...nodeFlags, 'block-size': blockSize, concurrency}
