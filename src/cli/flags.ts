// Flag values that need more than oclif's parsing: durations, sizes, the lock wait.
import * as Flags from '@oclif/core/flags'
import {parseDuration, parseSize} from '../core/config/units.js'
import {UsageError} from '../core/errors.js'

export function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value)
  if (ms === undefined) throw new UsageError(`--${name} ${JSON.stringify(value)}: not a duration; use milliseconds or a value like 30s, 10m, 1h, 7d`)
  return ms
}

export function sizeFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const bytes = parseSize(value)
  if (bytes === undefined) throw new UsageError(`--${name} ${JSON.stringify(value)}: not a size; use bytes or a value like 500MiB, 20GiB`)
  return bytes
}

export const lockWaitFlag = Flags.string({summary: 'How long to wait for a conflicting lock on the job to go away, e.g. 30s (default 1m).'})
