// A job opened for work: its settings, its primary store and this node's secondary store.
import type {JobSpec} from './config/job-file.js'
import type {Settings} from './config/settings.js'
import {removeOwnWork} from './cleanup.js'
import {onInterrupt} from './interrupt.js'
import {checkJobIdentity, type IdentityMode} from './identity.js'
import {SecondaryStore} from './local/secondary.js'
import {openPrimaryStore} from './stores/registry.js'
import type {PrimaryStore} from './stores/store.js'

export interface JobContext {
  settings: Settings
  job: JobSpec
  primary: PrimaryStore
  secondary: SecondaryStore
  node: string
  /** True when opening the job created a new, empty file primary. */
  createdPrimary: boolean
  close(): Promise<void>
}

export interface OpenOptions {
  /** Create a missing file primary (take, run) rather than refuse it as mistyped (default true). */
  createPrimary?: boolean
  /** The job's identity record: check it (default), also create it when absent, or replace it. */
  identity?: IdentityMode
}

export async function openJob(settings: Settings, options: OpenOptions = {}): Promise<JobContext> {
  let createdPrimary = false
  const store = await openPrimaryStore(settings.primaryUrl, {
    baseDir: settings.job.baseDir,
    blockSize: settings.transfer.blockSize,
    concurrency: settings.transfer.concurrency,
    create: options.createPrimary ?? true,
    onCreated: () => (createdPrimary = true),
  })
  try {
    await checkJobIdentity(store, settings.job, settings.node, options.identity ?? 'check')
  } catch (error) {
    // closing after a failed open: the open's own error is what the caller needs
    await store.close().catch(() => {})
    throw error
  }
  const ctx: JobContext = {
    settings,
    job: settings.job,
    primary: store,
    secondary: new SecondaryStore(settings.localRoots, settings.node, settings.job.name, store.identity),
    node: settings.node,
    createdPrimary,
    close: () => {
      forget()
      return store.close()
    },
  }
  // An interrupted command removes what it made in this job (src/core/cleanup.ts).
  const forget = onInterrupt(() => removeOwnWork(ctx))
  return ctx
}

/** Opens the job, runs fn, and always closes the store. */
export async function withJob<T>(settings: Settings, fn: (ctx: JobContext) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const ctx = await openJob(settings, options)
  try {
    return await fn(ctx)
  } finally {
    // the work's result (or error) stands; a store that fails to close has nothing left to lose
    await ctx.close().catch(() => {})
  }
}
