// Prometheus metrics of `ckpt run` (prom-client): what its hooks report, named by Prometheus's
// conventions (base units, _total for counters, _info for the info gauge). Loaded only when a run
// asks for metrics, so other commands do not pay for prom-client at start.
import {Counter, Gauge, Histogram, Registry} from 'prom-client'
import type {RunHooks} from '../runner/supervisor.js'
import type {CheckpointRecord, RecoveryRecord, RestartRecord} from '../runner/summary.js'

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
const PAUSE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class RunMetrics {
  readonly registry = new Registry()
  /** Called after every change, so a textfile can be rewritten. */
  onChange?: () => void
  private newestCompletedMs?: number

  private readonly lastInfo = new Gauge({
    name: 'ckpt_checkpoint_last_info',
    help: 'The newest checkpoint this run completed: 1, with its id as a label.',
    labelNames: ['checkpoint_id'],
    registers: [this.registry],
  })
  private readonly lastNumber = this.gauge('ckpt_checkpoint_last_number', 'The number N of the newest checkpoint chk-N this run completed.')
  private readonly lastDuration = this.gauge('ckpt_checkpoint_last_duration_seconds', "The newest completed checkpoint's time from start to commit.")
  private readonly lastPause = this.gauge('ckpt_checkpoint_last_pause_seconds', 'The longest time a task was paused for the newest completed checkpoint.')
  private readonly lastSize = this.gauge('ckpt_checkpoint_last_size_bytes', 'Bytes of state in the newest completed checkpoint.')
  private readonly lastUploaded = this.gauge('ckpt_checkpoint_last_uploaded_bytes', 'Bytes the newest completed checkpoint wrote to the primary.')
  private readonly lastCompleted = this.gauge('ckpt_checkpoint_last_completed_timestamp_seconds', 'When the newest checkpoint this run completed was committed (Unix time).')
  private readonly age = new Gauge({
    name: 'ckpt_checkpoint_newest_age_seconds',
    help: 'Seconds since the newest checkpoint this run completed was committed (absent before the first).',
    registers: [this.registry],
    collect: () => this.collectAge(),
  })
  private readonly checkpoints = new Counter({
    name: 'ckpt_checkpoints_total',
    help: 'Checkpoints by outcome: completed, failed, or skipped (a tick while another was running).',
    labelNames: ['outcome'],
    registers: [this.registry],
  })
  private readonly duration = new Histogram({
    name: 'ckpt_checkpoint_duration_seconds',
    help: "Completed checkpoints' time from start to commit.",
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  })
  private readonly pause = new Histogram({name: 'ckpt_checkpoint_pause_seconds', help: 'The longest task pause of each completed checkpoint.', buckets: PAUSE_BUCKETS, registers: [this.registry]})
  private readonly uploaded = new Counter({name: 'ckpt_checkpoint_uploaded_bytes_total', help: 'Bytes completed checkpoints wrote to the primary.', registers: [this.registry]})
  private readonly reused = new Counter({
    name: 'ckpt_checkpoint_reused_bytes_total',
    help: 'Bytes of state checkpoints took from earlier ones instead of writing them (0 in format 1).',
    registers: [this.registry],
  })
  private readonly restores = new Counter({
    name: 'ckpt_restores_total',
    help: 'Task restores by source (local, mixed, remote) and trigger (start, failover).',
    labelNames: ['source', 'trigger'],
    registers: [this.registry],
  })
  private readonly restoreDuration = new Histogram({
    name: 'ckpt_restore_duration_seconds',
    help: 'Time of each restore (the tasks of one restore together), by trigger.',
    labelNames: ['trigger'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  })
  private readonly restoreBytes = new Counter({
    name: 'ckpt_restore_bytes_total',
    help: "Bytes restored, by tier: local (this node's secondary copy) or primary.",
    labelNames: ['tier'],
    registers: [this.registry],
  })
  private readonly restarts = new Counter({name: 'ckpt_task_restarts_total', help: 'Restarts of a failed task, by task.', labelNames: ['task_id'], registers: [this.registry]})

  constructor(labels: {job: string; node: string}, taskIds: string[]) {
    // `job` is Prometheus's own target label; ours is ckpt_job.
    this.registry.setDefaultLabels({ckpt_job: labels.job, node: labels.node})
    for (const outcome of ['completed', 'failed', 'skipped']) this.checkpoints.inc({outcome}, 0)
    for (const tier of ['local', 'primary']) this.restoreBytes.inc({tier}, 0)
    for (const taskId of taskIds) this.restarts.inc({task_id: taskId}, 0)
    this.uploaded.inc(0)
    this.reused.inc(0)
  }

  /** The run hooks that feed these metrics. */
  hooks(): RunHooks {
    return {
      onCheckpoint: (c) => this.checkpointCompleted(c),
      onCheckpointFailed: () => this.changed(() => this.checkpoints.inc({outcome: 'failed'})),
      onCheckpointSkipped: () => this.changed(() => this.checkpoints.inc({outcome: 'skipped'})),
      onRecovery: (records) => this.recovered(records),
      onRestart: (r: RestartRecord) => this.changed(() => this.restarts.inc({task_id: r.taskId})),
    }
  }

  private checkpointCompleted(c: CheckpointRecord): void {
    this.changed(() => {
      this.lastInfo.reset()
      this.lastInfo.set({checkpoint_id: c.checkpointId}, 1)
      this.lastNumber.set(Number(/\d+$/.exec(c.checkpointId)?.[0] ?? NaN))
      this.lastDuration.set(c.durationMs / 1000)
      this.lastPause.set(c.pauseMs / 1000)
      this.lastSize.set(c.bytes)
      this.lastUploaded.set(c.uploadedBytes)
      const completed = Date.parse(c.completedAt)
      this.lastCompleted.set(completed / 1000)
      this.newestCompletedMs = Math.max(this.newestCompletedMs ?? 0, completed)
      this.checkpoints.inc({outcome: 'completed'})
      this.duration.observe(c.durationMs / 1000)
      this.pause.observe(c.pauseMs / 1000)
      this.uploaded.inc(c.uploadedBytes)
      this.reused.inc(c.reusedBytes)
    })
  }

  private recovered(records: RecoveryRecord[]): void {
    if (records.length === 0) return
    this.changed(() => {
      for (const r of records) {
        this.restores.inc({source: r.source, trigger: r.trigger})
        this.restoreBytes.inc({tier: 'local'}, r.localBytes)
        this.restoreBytes.inc({tier: 'primary'}, r.remoteBytes)
      }
      this.restoreDuration.observe({trigger: records[0].trigger}, records[0].durationMs / 1000)
    })
  }

  private collectAge(): void {
    this.age.reset()
    if (this.newestCompletedMs !== undefined) this.age.set(Math.max(0, (Date.now() - this.newestCompletedMs) / 1000))
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({name, help, registers: [this.registry]})
  }

  private changed(update: () => void): void {
    update()
    this.onChange?.()
  }
}
