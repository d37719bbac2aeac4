// A job opened for work: its settings, its primary store and this node's secondary store.
import type {JobSpec} from './config/job-file.js'
import type {Settings} from './config/settings.js'
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
  return {
    settings,
    job: settings.job,
    store,
    secondary: new SecondaryStore(settings.localRoots, settings.node, settings.job.job),
    node: settings.node,
    close: () => store.close(),
  }
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
