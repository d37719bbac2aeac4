// One `ckpt run` per job and node: the run writes a record (ROOT/.ckpt-run/NODE/JOB.json in the
// first local root) with its pid and that process's start time from /proc, so the record of a
// run that is gone (killed -9, or its pid reused since) is not live. A second run, a take and a
// restore of the job on this node are refused while the record is live.
import * as fs from 'node:fs/promises'
import {hostname} from 'node:os'
import * as path from 'node:path'
import type {JobContext} from '../context.js'
import {RunActiveError, messageOf} from '../errors.js'
import {randomBytes} from '../util/crypto.js'
import {processStartOf, sameProcessAlive} from '../util/process.js'

export interface RunRecord {
  job: string
  node: string
  host: string
  pid: number
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22), where /proc exists. */
  processStart?: string
  startedAt: string
}

/** Where a job's run on a node is recorded: what settings give, so it is found before the store is opened. */
export interface RunPlace {
  localRoots: string[]
  node: string
  job: {name: string}
}

export function runRecordPath(place: RunPlace): string {
  return path.join(place.localRoots[0], '.ckpt-run', place.node, `${place.job.name}.json`)
}

function isLive(record: RunRecord): boolean {
  return sameProcessAlive(record)
}

async function readRecord(file: string): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as RunRecord
  } catch {
    // missing or half-written record: treated as no run
    return undefined
  }
}

/** The live run of this job on this node, if there is one. */
export async function liveRun(place: RunPlace): Promise<RunRecord | undefined> {
  const record = await readRecord(runRecordPath(place))
  return record && isLive(record) ? record : undefined
}

function describe(record: RunRecord): string {
  return `'ckpt run' (pid ${record.pid}, started ${record.startedAt}) runs job ${record.job} on node ${record.node}`
}

/** Refuses `what` (a take, a restore) while a run of the job is live on this node: it would write under the run's live tasks. */
export async function refuseDuringRun(place: RunPlace, what: string): Promise<void> {
  const record = await liveRun(place)
  if (record) {
    throw new RunActiveError(
      `${describe(record)}; a ${what} now would work under its live tasks. Stop the run (kill -TERM ${record.pid}) or let it take checkpoints (on its interval, or a final one as it stops)`,
    )
  }
}

/**
 * Records this process as the job's run on this node, or refuses naming the live one; returns the
 * release. A record that cannot be written (a full or read-only local root) is a warning: the run
 * goes on, unguarded against a second one.
 */
export async function claimRun(ctx: JobContext, onWarning?: (message: string) => void): Promise<() => Promise<void>> {
  try {
    return await writeClaim(ctx)
  } catch (error) {
    if (error instanceof RunActiveError) throw error
    onWarning?.(`cannot record this run in ${runRecordPath(ctx.settings)} (${messageOf(error)}); a second 'ckpt run' of job ${ctx.job.name} on this node will not be refused`)
    return async () => {}
  }
}

async function writeClaim(ctx: JobContext): Promise<() => Promise<void>> {
  const file = runRecordPath(ctx.settings)
  const mine: RunRecord = {job: ctx.job.name, node: ctx.node, host: hostname(), pid: process.pid, processStart: processStartOf(process.pid), startedAt: new Date().toISOString()}
  await fs.mkdir(path.dirname(file), {recursive: true})
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`
  await fs.writeFile(temp, JSON.stringify(mine, null, 2) + '\n')
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.link(temp, file) // create-if-absent: of two runs starting at once, one wins
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw error
      }
      const other = await readRecord(file)
      if (other && isLive(other)) throw new RunActiveError(`${describe(other)} already; stop it first (kill -TERM ${other.pid}), or run other tasks under another node name`)
      // The record of a run that is gone: take it over. Two runs starting at this very moment may both
      // get here; the link above then lets only one of them in, unless one removes the other's fresh record.
      await fs.rm(file, {force: true})
    }
  } finally {
    await fs.rm(temp, {force: true})
  }
  return async () => {
    const current = await readRecord(file)
    if (current?.pid === mine.pid && current.processStart === mine.processStart) await fs.rm(file, {force: true})
  }
}
