// Format-2 end-to-end helpers: a job of format 2 driven through the built CLI on one store kind,
// and readers of what it left in the primary (manifests, task indexes, packs) and local copies.
import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {openPrimaryStore} from '../../src/core/stores/registry.js'
import {digestHex, digestReady} from '../../src/core/util/digest.js'
import {getBuffer, type ObjectInfo, type PrimaryStore} from '../../src/core/stores/store.js'
import {runCli, startCli, type CliResult} from './cli.js'
import {fingerprint, writeJob, type Fingerprint, type TestTask} from './job.js'
import {tempDir, type PrimaryKind, type PrimaryTarget} from './primaries.js'

export const KiB = 1 << 10
export const MiB = 1 << 20
export const JOB = 'testjob'
export const NODE = 'test-node'

/** Paths, types, modes, sizes, contents and symlink targets of a tree (job.ts's fingerprint). */
export type TreeDigest = Record<string, Fingerprint>
export const treeDigest = (root: string): Promise<TreeDigest> => fingerprint(root)

export interface Format2Job {
  dir: string
  kind: PrimaryKind
  target: PrimaryTarget
  tasks: string[]
  /** Runs the built CLI in the job's folder with --json. */
  ckpt(args: string[], env?: Record<string, string>): Promise<CliResult>
  /** Starts the built CLI with --json without waiting for it. */
  start(args: string[], env?: Record<string, string>): ChildProcess
  /** `checkpoint take`, which must succeed; its JSON. */
  take(args?: string[]): Promise<any>
  state(task: string): string
  /** A task's local copy folder of a checkpoint (its `state/` is below it). */
  copyDir(id: string, task: string): string
  /** The digests of every task's stateDir. */
  digests(): Promise<Record<string, TreeDigest>>
  /** The commit record of a checkpoint, or undefined. */
  manifest(id: string): Promise<any | undefined>
  /** Ids whose commit record says completed, oldest first. */
  completed(): Promise<string[]>
  /** A task index of a completed checkpoint, read from the primary. */
  index(id: string, task: string): Promise<any>
  /** Every pack id the task indexes of a checkpoint name. */
  packsNamedBy(id: string): Promise<Set<string>>
  /** Every pack in JOB/packs/ with its size and time. */
  packs(): Promise<Map<string, ObjectInfo>>
  /** Every object key of the job. */
  keys(): Promise<string[]>
  /**
   * A task's tree as checkpoint `id` stores it, read without ckpt's restore: the index's entries,
   * each file's bytes cut out of its packs, every blob checked against its id.
   */
  storedTree(id: string, task: string): Promise<TreeDigest>
  cleanup(): Promise<void>
}

export interface Format2JobOptions {
  /** Task ids, or whole task definitions (a snapshot command). Default: alpha and beta. */
  tasks?: (string | TestTask)[]
  /** Added to the job file's `checkpoint` (format is 2). */
  checkpoint?: Record<string, unknown>
  retain?: {primary?: number; local?: number}
}

/** A fresh job of format 2 on a fresh primary of the kind; local copies under DIR/local. */
export async function format2Job(kind: PrimaryKind, options: Format2JobOptions = {}): Promise<Format2Job> {
  const {dir, cleanup} = await tempDir('ckpt-f2-')
  const target = await kind.fresh(dir)
  const tasks = (options.tasks ?? ['alpha', 'beta']).map((t) => (typeof t === 'string' ? {id: t} : t))
  await writeJob(dir, {
    job: JOB,
    tasks,
    primary: target.url,
    localRoots: ['local'],
    extra: {checkpoint: {format: 2, ...options.checkpoint}, retain: {primary: 100, local: 100, ...options.retain}},
  })
  let store: PrimaryStore | undefined
  const packCache = new Map<string, Buffer>()
  const open = async () => (store ??= await openPrimaryStore(target.url, {baseDir: dir, env: {...process.env, ...target.env}, create: false}))
  const env = (extra: Record<string, string>) => ({...target.env, CKPT_NODE: NODE, ...extra})
  const state = (task: string) => path.join(dir, 'state', task)
  const job: Format2Job = {
    dir,
    kind,
    target,
    tasks: tasks.map((t) => t.id),
    ckpt: (args, extra = {}) => runCli([...args, '--json'], {cwd: dir, env: env(extra)}),
    start: (args, extra = {}) => startCli([...args, '--json'], {cwd: dir, env: env(extra)}),
    async take(args = []) {
      const result = await job.ckpt(['checkpoint', 'take', ...args])
      assert.equal(result.code, 0, `checkpoint take ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`)
      return result.json
    },
    state,
    copyDir: (id, task) => path.join(dir, 'local', NODE, JOB, task, id),
    async digests() {
      const out: Record<string, TreeDigest> = {}
      for (const t of job.tasks) out[t] = await treeDigest(state(t))
      return out
    },
    async manifest(id) {
      const s = await open()
      const key = `${JOB}/manifests/${id}.json`
      if (!(await s.stat(key))) return undefined
      return JSON.parse((await getBuffer(s, key)).toString('utf8'))
    },
    async completed() {
      const s = await open()
      const ids: string[] = []
      for await (const info of s.list(`${JOB}/manifests/`)) {
        const id = path.posix.basename(info.key, '.json')
        const doc = await job.manifest(id)
        if (doc && (doc.status ?? 'completed') === 'completed') ids.push(id)
      }
      return ids.sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    },
    async index(id, task) {
      const manifest = await job.manifest(id)
      assert.ok(manifest, `no manifest for ${id}`)
      const record = manifest.tasks.find((t: any) => t.taskId === task)
      assert.ok(record, `${id} has no task ${task}`)
      return JSON.parse((await getBuffer(await open(), record.index)).toString('utf8'))
    },
    async packsNamedBy(id) {
      const named = new Set<string>()
      const manifest = await job.manifest(id)
      assert.ok(manifest, `no manifest for ${id}`)
      for (const t of manifest.tasks) for (const p of (await job.index(id, t.taskId)).packs) named.add(p.id)
      return named
    },
    async packs() {
      const found = new Map<string, ObjectInfo>()
      for await (const info of (await open()).list(`${JOB}/packs/`)) {
        const match = /\/packs\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(info.key)
        if (match) found.set(match[1], info)
      }
      return found
    },
    async keys() {
      const found: string[] = []
      for await (const info of (await open()).list(`${JOB}/`)) found.push(info.key)
      return found.sort()
    },
    async storedTree(id, task) {
      const index = await job.index(id, task)
      await digestReady(index.digest)
      const out: TreeDigest = {}
      for (const e of index.entries) {
        if (e.type === 'dir') out[e.path] = {type: 'dir', mode: e.mode, size: 0}
        else if (e.type === 'symlink') out[e.path] = {type: 'symlink', mode: 0, size: 0, target: e.target}
        else {
          const hash = createHash('sha256')
          for (const [ordinal, offset, length, blobId] of e.blobs) {
            const packId = index.packs[ordinal].id
            const pack = packCache.get(packId) ?? (await getBuffer(await open(), `${JOB}/packs/${packId.slice(0, 2)}/${packId}`))
            packCache.set(packId, pack)
            const blob = pack.subarray(offset, offset + length)
            assert.equal(digestHex(blob, index.digest), blobId, `${id} ${task} ${e.path}: a blob of pack ${packId} does not match its id`)
            hash.update(blob)
          }
          out[e.path] = {type: 'file', mode: e.mode, size: e.size, sha256: hash.digest('hex')}
        }
      }
      return out
    },
    async cleanup() {
      await store?.close()
      await cleanup()
    },
  }
  return job
}

export type RestoreMode = 'local' | 'remote' | 'mixed'

/**
 * Restores checkpoint `id` and checks every task's stateDir against `expected`. `remote` and
 * `mixed` start from an empty stateDir (nothing in place); `mixed` first deletes every other file
 * of the local copy (unlinked, never modified: copies share inodes) so the primary must serve them.
 */
export async function restoreAndCheck(job: Format2Job, id: string, expected: Record<string, TreeDigest>, mode: RestoreMode): Promise<any> {
  if (mode !== 'local') for (const t of job.tasks) await fs.rm(job.state(t), {recursive: true, force: true})
  // Bytes the damaged copy still holds, per task: with some, a mixed restore must use them.
  const kept = new Map<string, number>()
  if (mode === 'mixed') for (const t of job.tasks) kept.set(t, await deleteEveryOther(path.join(job.copyDir(id, t), 'state')))
  const result = await job.ckpt(['restore', id, ...(mode === 'remote' ? ['--prefer', 'remote'] : [])])
  assert.equal(result.code, 0, `restore ${id} (${mode}) failed:\n${result.stdout}\n${result.stderr}`)
  assert.equal(result.json.checkpointId, id, `restore ${id} (${mode}) restored ${result.json.checkpointId} instead`)
  for (const t of job.tasks) {
    const task = result.json.tasks.find((x: any) => x.taskId === t)
    assert.equal(task?.checkpointId, id, `restore ${id} (${mode}): task ${t} came from ${task?.checkpointId}`)
    if (mode === 'remote') assert.equal(task.source, 'remote', `restore ${id} --prefer remote: task ${t}`)
    if (mode === 'mixed' && kept.get(t)! > 0) assert.notEqual(task.source, 'remote', `restore ${id} (mixed): task ${t} ignored its local copy`)
    assert.deepEqual(await treeDigest(job.state(t)), expected[t], `restore ${id} (${mode}): task ${t} differs from what was taken`)
  }
  return result.json
}

/**
 * Checks what a take stored against the tree it read, without restore: every task's tree as the
 * primary holds it (storedTree) and, unless `copy` is false, its local copy's state folder.
 */
export async function checkTaken(job: Format2Job, id: string, expected: Record<string, TreeDigest>, options: {copy?: boolean} = {}): Promise<void> {
  for (const t of job.tasks) {
    assert.deepEqual(await job.storedTree(id, t), expected[t], `${id}: the primary's copy of task ${t} differs from what was taken`)
    if (options.copy !== false) assert.deepEqual(await treeDigest(path.join(job.copyDir(id, t), 'state')), expected[t], `${id}: the local copy of task ${t} differs from what was taken`)
  }
}

/** Deletes every other regular file below root; the bytes of the files left. */
export async function deleteEveryOther(root: string): Promise<number> {
  const digest = await treeDigest(root)
  let left = 0
  const files = Object.keys(digest).filter((p) => digest[p].type === 'file')
  for (const [n, file] of files.entries()) {
    if (n % 2 === 0) await fs.rm(path.join(root, file))
    else left += digest[file].size
  }
  return left
}

/** Paths (relative, sorted) of the regular files below root. */
export async function regularFiles(root: string): Promise<string[]> {
  const digest = await treeDigest(root).catch(() => ({}) as TreeDigest)
  return Object.keys(digest).filter((p) => digest[p].type === 'file')
}

export interface Tracked {
  child: ChildProcess
  /** Resolves when the child has closed, with what it wrote. */
  done: Promise<CliResult>
  /** SIGKILL (if it still runs), then waits until it is gone. */
  kill9(): Promise<CliResult>
}

/** Collects a started child's output from the start, so that it can be killed at any moment. */
export function track(child: ChildProcess): Tracked {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code, signal) => {
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolve({code, signal, stdout, stderr, json})
    }),
  )
  return {
    child,
    done,
    kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      return done
    },
  }
}
