// Runs the sides of a case in turn (A B C A B C ...), untimed set-up and clean-up around each
// timed run, and reduces the samples to medians, throughput and peak memory.
import {syncDisks, type RunResult} from './exec.js'
import {median} from './stats.js'

export interface Side {
  id: string
  label: string
  /** The command as shown in the results (secrets hidden). */
  command: string
  /** Payload bytes, for throughput. */
  bytes?: number
  /** Why this side is not run (a peer that is not installed): reported, never silently dropped. */
  notRun?: string
  /** Untimed, before every run. */
  prepare?: () => Promise<void>
  run: () => Promise<RunResult>
  /** Untimed, after the first run: checks that the run did the job (e.g. the restored tree is whole). */
  check?: () => Promise<void>
  /** Untimed, after every run. */
  cleanup?: () => Promise<void>
}

export interface Measurement {
  id: string
  label: string
  command: string
  samplesMs: number[]
  medianMs: number | null
  minMs: number | null
  maxMs: number | null
  /** MB/s (10^6 bytes) at the median time. */
  mbPerS?: number
  bytes?: number
  /** Peak resident set over the runs, MiB. */
  maxRssMiB?: number
  /** Median CPU time (user + system) of the runs, s: less sensitive than wall time to other work on the machine. */
  cpuS?: number
  notRun?: string
}

export function notRunMeasurement(side: Pick<Side, 'id' | 'label' | 'command' | 'bytes'>, reason: string): Measurement {
  return {id: side.id, label: side.label, command: side.command, samplesMs: [], medianMs: null, minMs: null, maxMs: null, bytes: side.bytes, notRun: reason}
}

export function summarize(side: Pick<Side, 'id' | 'label' | 'command' | 'bytes'>, samplesMs: number[], rssKiB: number[], cpuMs: number[] = []): Measurement {
  const med = median(samplesMs)
  const m: Measurement = {
    id: side.id,
    label: side.label,
    command: side.command,
    samplesMs: samplesMs.map((s) => Math.round(s * 10) / 10),
    medianMs: Math.round(med * 10) / 10,
    minMs: Math.round(Math.min(...samplesMs) * 10) / 10,
    maxMs: Math.round(Math.max(...samplesMs) * 10) / 10,
  }
  if (side.bytes !== undefined) {
    m.bytes = side.bytes
    m.mbPerS = Math.round((side.bytes / 1e6 / (med / 1000)) * 10) / 10
  }
  if (rssKiB.length > 0) m.maxRssMiB = Math.round((Math.max(...rssKiB) / 1024) * 10) / 10
  if (cpuMs.length > 0) m.cpuS = Math.round(median(cpuMs) / 10) / 100
  return m
}

/** `alternate` reverses the order of the sides every other round, so that no side always goes first. */
export async function interleave(sides: Side[], rounds: number, log: (line: string) => void, options: {alternate?: boolean} = {}): Promise<Record<string, Measurement>> {
  const samples = new Map<string, number[]>(sides.map((s) => [s.id, []]))
  const rss = new Map<string, number[]>(sides.map((s) => [s.id, []]))
  const cpu = new Map<string, number[]>(sides.map((s) => [s.id, []]))
  for (let round = 0; round < rounds; round++) {
    for (const side of options.alternate && round % 2 === 1 ? [...sides].reverse() : sides) {
      if (side.notRun) continue
      await side.prepare?.()
      await syncDisks()
      const result = await side.run()
      samples.get(side.id)!.push(result.ms)
      if (result.maxRssKiB) rss.get(side.id)!.push(result.maxRssKiB)
      if (result.cpuMs !== undefined) cpu.get(side.id)!.push(result.cpuMs)
      log(
        `  ${side.label}: ${(result.ms / 1000).toFixed(2)} s${result.cpuMs !== undefined ? ` (${(result.cpuMs / 1000).toFixed(2)} s CPU)` : ''}${result.maxRssKiB ? `, ${(result.maxRssKiB / 1024).toFixed(0)} MiB RSS` : ''}`,
      )
      if (round === 0) await side.check?.()
      await side.cleanup?.()
    }
  }
  const out: Record<string, Measurement> = {}
  for (const side of sides) out[side.id] = side.notRun ? notRunMeasurement(side, side.notRun) : summarize(side, samples.get(side.id)!, rss.get(side.id)!, cpu.get(side.id)!)
  return out
}
