// `ckpt run --metrics-port/--metrics-file`: the metrics, their endpoint and their file, and the
// run hooks that feed them.
import * as path from 'node:path'
import type {JobContext} from '../context.js'
import type {RunHooks} from '../runner/supervisor.js'
import {metricsFileWriter, parseListen, serveMetrics} from './exporter.js'
import {RunMetrics} from './run-metrics.js'

export interface MetricsOptions {
  /** `PORT` or `HOST:PORT`. */
  listen?: string
  file?: string
  onInfo: (message: string) => void
  onWarning: (message: string) => void
}

export interface RunMetricsHandle {
  hooks: RunHooks
  close(): Promise<void>
}

export async function startRunMetrics(ctx: JobContext, options: MetricsOptions): Promise<RunMetricsHandle> {
  const metrics = new RunMetrics(
    {job: ctx.job.name, node: ctx.node},
    ctx.job.tasks.map((t) => t.id),
  )
  const server = options.listen === undefined ? undefined : await serveMetrics(metrics.registry, parseListen(options.listen))
  if (server) options.onInfo(`serving Prometheus metrics at ${server.url}`)
  const file = options.file === undefined ? undefined : metricsFileWriter(metrics.registry, path.resolve(options.file), options.onWarning)
  metrics.onChange = () => file?.changed()
  return {
    hooks: metrics.hooks(),
    async close() {
      await file?.close()
      await server?.close()
    },
  }
}

/** Calls every hook of each set, in order. */
export function combineHooks(...sets: RunHooks[]): RunHooks {
  const combined: Record<string, (...args: never[]) => void> = {}
  for (const set of sets) {
    for (const [name, hook] of Object.entries(set) as Array<[string, ((...args: never[]) => void) | undefined]>) {
      if (!hook) continue
      const before = combined[name]
      combined[name] = before ? (...args) => (before(...args), hook(...args)) : hook
    }
  }
  return combined as RunHooks
}
