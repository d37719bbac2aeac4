// The flags of `ckpt run`'s metrics, and their start: prom-client is loaded only when asked for.
import * as Flags from '@oclif/core/flags'
import type {JobContext} from '../core/context.js'
import type {RunHooks} from '../core/runner/supervisor.js'
import {UsageError, messageOf} from '../core/errors.js'
import {parseListen} from '../core/metrics/exporter.js'

export const metricsFlags = {
  'metrics-port': Flags.string({
    // Checked here, so a mistyped address is refused (exit 2) before the run starts, naming the flag.
    parse: async (input) => {
      try {
        parseListen(input)
      } catch (error) {
        throw new UsageError(`--metrics-port ${messageOf(error).replace(/^metrics address /, '')}`)
      }
      return input
    },
    summary: 'Serve Prometheus metrics at http://HOST:PORT/metrics: a PORT (every interface) or HOST:PORT, e.g. 127.0.0.1:9464.',
  }),
  'metrics-file': Flags.string({summary: "Write Prometheus metrics to this file (node_exporter's textfile collector), replaced whole on every change and every 10s."}),
}

export async function runMetrics(
  ctx: JobContext,
  flags: {'metrics-port'?: string; 'metrics-file'?: string},
  hooks: RunHooks,
  onInfo: (m: string) => void,
): Promise<{hooks: RunHooks; close(): Promise<void>}> {
  if (flags['metrics-port'] === undefined && flags['metrics-file'] === undefined) return {hooks, close: async () => {}}
  const {startRunMetrics, combineHooks} = await import('../core/metrics/start.js')
  const metrics = await startRunMetrics(ctx, {listen: flags['metrics-port'], file: flags['metrics-file'], onInfo, onWarning: hooks.onWarning ?? (() => {})})
  return {hooks: combineHooks(hooks, metrics.hooks), close: metrics.close}
}
