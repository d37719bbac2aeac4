// `ckpt checkpoint take` on a job whose participants are running: it asks them for a checkpoint
// (a request record the coordinator answers with the id it announces), waits for the commit or the
// abort record, and reports the checkpoint as a take does.
import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'
import type {JobContext} from '../context.js'
import {OperationError} from '../errors.js'
import {parseCheckpointId, type CheckpointId} from '../format/ids.js'
import {clusterKeys, FORMAT_2} from '../format/keys.js'
import {isAborted, isManifestV2} from '../format/manifest.js'
import {readCommitRecord} from '../catalogue/catalogue.js'
import type {TakeResult} from '../checkpoint/take.js'
import {isLive} from './membership.js'
import {createRecord, listParticipants, probeStoreTime, readRecord, type Participant, type TakeAnswer, type TakeRequest} from './records.js'

/** The participants of the job that are running now (none: the job is not run on many nodes). */
export async function liveParticipants(ctx: JobContext): Promise<Participant[]> {
  const all = await listParticipants(ctx.primary, ctx.job.name)
  if (all.length === 0) return []
  const now = await probeStoreTime(ctx.primary, ctx.job.name)
  return all.filter((p) => isLive(p, now, ctx.job.cluster.leaseMs, {host: hostname()}))
}

export interface AskOptions {
  onWarning?: (message: string) => void
}

/** Asks the running participants for a checkpoint and waits for its outcome. */
export async function askParticipants(ctx: JobContext, options: AskOptions = {}): Promise<TakeResult> {
  const started = Date.now()
  const job = ctx.job.name
  const {leaseMs, pollMs} = ctx.job.cluster
  const request: TakeRequest = {requestId: randomUUID(), node: ctx.node, host: hostname(), pid: process.pid, requestedAt: new Date().toISOString()}
  await createRecord(ctx.primary, clusterKeys.request(job, request.requestId), request)
  // The coordinator answers on its next poll; one that just died is replaced within the lease.
  const answer = await waitFor(() => readRecord<TakeAnswer>(ctx.primary, clusterKeys.answer(job, request.requestId)), 2 * leaseMs + 4 * pollMs, pollMs)
  if (!answer) {
    await ctx.primary.delete(clusterKeys.request(job, request.requestId)).catch(() => {})
    throw new OperationError(`no coordinator of job ${job} answered within ${Math.round((2 * leaseMs) / 1000)} s; see 'ckpt status' for the participants and their heartbeats`)
  }
  const id = parseCheckpointId(answer.checkpointId) as CheckpointId
  const record = await waitFor(() => readCommitRecord(ctx.primary, job, id).catch(() => undefined), ctx.job.checkpoint.timeoutMs + 2 * leaseMs, pollMs)
  if (!record) throw new OperationError(`checkpoint ${id} neither completed nor was aborted within checkpoint.timeout; see 'ckpt status'`)
  if (isAborted(record)) throw new OperationError(`checkpoint ${id} was aborted: ${record.reason}`)
  if (!isManifestV2(record)) throw new OperationError(`checkpoint ${id}: its manifest is not of format 2`)
  const secondary = await confirmedCopies(
    ctx,
    id,
    record.tasks.map((t) => t.taskId),
    pollMs,
  )
  const tasks = record.tasks.map((t) => {
    const written = secondary.has(t.taskId)
    if (!written) options.onWarning?.(`task ${t.taskId}: node ${t.node ?? '?'} has not confirmed its secondary copy of ${id} yet`)
    return {
      taskId: t.taskId,
      files: t.files,
      bytes: t.bytes,
      secondary: written ? ('written' as const) : ('failed' as const),
      uploadedBytes: t.uploadedBytes,
      reusedBytes: t.reusedBytes,
      ...(t.base ? {base: t.base} : {}),
      ...(t.node ? {node: t.node} : {}),
    }
  })
  return {
    checkpointId: id,
    status: 'completed',
    durationMs: Date.now() - started,
    tasks,
    format: FORMAT_2,
    uploadedBytes: tasks.reduce((sum, t) => sum + t.uploadedBytes, 0),
    reusedBytes: tasks.reduce((sum, t) => sum + t.reusedBytes, 0),
    takenBy: 'participants',
  }
}

/** The tasks whose participant records show the checkpoint's local copy confirmed (waiting a few polls). */
async function confirmedCopies(ctx: JobContext, id: string, taskIds: string[], pollMs: number): Promise<Set<string>> {
  let confirmed = new Set<string>()
  for (let i = 0; i < 5 && confirmed.size < taskIds.length; i++) {
    if (i > 0) await sleep(pollMs)
    const participants = await listParticipants(ctx.primary, ctx.job.name)
    confirmed = new Set(taskIds.filter((t) => participants.some((p) => p.copies?.[t] === id)))
  }
  return confirmed
}

async function waitFor<T>(read: () => Promise<T | undefined>, withinMs: number, pollMs: number): Promise<T | undefined> {
  const until = Date.now() + withinMs
  for (;;) {
    const found = await read()
    if (found !== undefined || Date.now() > until) return found
    await sleep(pollMs)
  }
}
