// A job opened for work: its settings, its primary store and this node's secondary store.
import type {JobSpec} from './config/job-file.js'
import type {Settings} from './config/settings.js'
import {removeOwnWork} from './cleanup.js'
import {onInterrupt} from './interrupt.js'
import {SecondaryStore} from './local/secondary.js'
import {openPrimaryStore} from './stores/registry.js'
import type {PrimaryStore} from './stores/store.js'

export interface JobContext {
  settings: Settings
  job: JobSpec
  store: PrimaryStore
  secondary: SecondaryStore
  node: string
  close(): Promise<void>
}

export async function openJob(settings: Settings): Promise<JobContext> {
  const store = await openPrimaryStore(settings.primaryUrl, {
    baseDir: settings.job.baseDir,
    blockSize: settings.transfer.blockSize,
    concurrency: settings.transfer.concurrency,
  })
  const ctx: JobContext = {
    settings,
    job: settings.job,
    store,
    secondary: new SecondaryStore(settings.localRoots, settings.node, settings.job.job),
    node: settings.node,
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
export async function withJob<T>(settings: Settings, fn: (ctx: JobContext) => Promise<T>): Promise<T> {
  const ctx = await openJob(settings)
  try {
    return await fn(ctx)
  } finally {
    await ctx.close().catch(() => {})
  }
}
