import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../../cli/base.js'
import {duration, localRoot, lockWait, node, primaryFlags, size} from '../../cli/flags.js'
import {count, statusColor, table} from '../../cli/render.js'
import {formatBytes} from '../../core/config/units.js'
import {pruneLocalCopies} from '../../core/local/prune.js'

export default class LocalPrune extends CkptCommand {
  static override summary = "Remove this node's secondary copies beyond retention, pending leftovers and orphans."
  static override description = `Keeps the newest --keep N confirmed copies per task (job file retain.local, default 1); removes pending copies and unfinished leftovers last written longer ago than --grace (job file checkpoint.grace, default 1h), and orphans (their checkpoint is no longer completed in the primary). --max-size evicts the oldest confirmed copies until the local roots fit, never the newest confirmed copy of a task. Leftovers of interrupted work (unfinished copies, snapshot folders, scratch copies) go at once when the process named in them is gone, never while it runs, and after --grace when their name has no pid.

Works under the job's exclusive lock when the primary can be reached. When it cannot, removes only what local records prove safe (unfinished leftovers past the grace period, and locally confirmed copies beyond --keep or --max-size), keeps pending copies and possible orphans, warns, and exits 0.`
  static override examples = ['<%= config.bin %> local prune --dry-run', '<%= config.bin %> local prune --keep 2 --max-size 20GiB --json']
  static override flags = {
    ...primaryFlags,
    'local-root': localRoot,
    node,
    keep: Flags.integer({summary: 'Confirmed copies to keep per task (job file retain.local, default 1).', min: 1}),
    'max-size': size({summary: 'Evict the oldest confirmed copies until the local roots hold at most this, e.g. 20GiB.'}),
    grace: duration({summary: 'Pending copies written within this time are kept (job file checkpoint.grace, default 1h).'}),
    'dry-run': Flags.boolean({summary: 'Print what would be removed; change nothing.'}),
    'lock-wait': lockWait,
  }

  async run() {
    const {flags} = await this.parse(LocalPrune)
    const options = {
      keep: flags.keep,
      maxSizeBytes: flags['max-size'],
      graceMs: flags.grace,
      dryRun: flags['dry-run'],
      lockWaitMs: flags['lock-wait'],
      onWarning: (m: string) => this.warning(m),
    }
    const result = await this.withJob(flags, (ctx) => pruneLocalCopies(ctx, options))
    return this.show(result, (r) => {
      const rows = [
        ...r.removed.map((c) => [c.taskId, c.checkpointId, statusColor(c.status), formatBytes(c.bytes), r.dryRun ? 'would remove' : 'removed', c.reason]),
        ...r.kept.map((c) => [c.taskId, c.checkpointId, statusColor(c.status), formatBytes(c.bytes), 'kept', '']),
      ]
      if (rows.length > 0) this.say(table(['task', 'checkpoint', 'status', 'bytes', 'action', 'why'], rows))
      const gone = r.leftovers.filter((item) => item.action === 'remove')
      if (gone.length > 0) this.say(`${r.dryRun ? 'Would remove' : 'Removed'} ${count(gone.length, 'leftover folder')} of interrupted work: ${gone.map((item) => item.path).join(', ')}`)
      this.say(`${r.dryRun ? 'Would remove' : 'Removed'} ${count(r.removed.length, 'copy', 'copies')}; ${formatBytes(r.bytes)} left in the local roots.`)
    })
  }
}
