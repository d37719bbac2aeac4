import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../../cli/base.js'
import {duration, lockWait, node, primaryFlags} from '../../cli/flags.js'
import {count, statusColor, table} from '../../cli/render.js'
import {pruneCheckpoints} from '../../core/checkpoint/prune.js'
import {formatBytes} from '../../core/config/units.js'

export default class CheckpointPrune extends CkptCommand {
  static override summary = 'Remove checkpoints beyond retention, and incomplete leftovers, from the primary store.'
  static override description = `Keeps the newest --retain N completed checkpoints (job file retain.primary, default 3) and those taken within --keep-within; never removes the newest completed checkpoint or an object a kept checkpoint's manifest references. Removes incomplete checkpoints only when they are older than the newest completed one and were last written longer ago than --grace (job file checkpoint.grace, default 1h), so a take in progress is never touched. With a file primary, also removes temporary objects of interrupted writes older than --grace and empty data folders.

Format 2's packs that no kept checkpoint needs are removed once older than --grace, measured by the primary store's own clock, and only while no take may still commit (no claim without a commit record is younger than --grace); the others are left for a later prune and counted as deferred.

A manifest goes before its data: a prune that is killed leaves no completed checkpoint with missing data, and running it again finishes the job. Holds the job's exclusive lock (takes, restores and verifies wait); --dry-run takes no lock and changes nothing.`
  static override examples = ['<%= config.bin %> checkpoint prune --dry-run', '<%= config.bin %> checkpoint prune --retain 5 --keep-within 7d --json']
  static override flags = {
    ...primaryFlags,
    node,
    retain: Flags.integer({summary: 'Completed checkpoints to keep (job file retain.primary, default 3).', min: 1}),
    'keep-within': duration({summary: 'Also keep completed checkpoints taken within this time, e.g. 7d.'}),
    grace: duration({summary: 'Incomplete checkpoints and unneeded packs written within this time are kept (job file checkpoint.grace, default 1h).'}),
    'dry-run': Flags.boolean({summary: 'Print what would be removed; change nothing.'}),
    'lock-wait': lockWait,
  }

  async run() {
    const {flags} = await this.parse(CheckpointPrune)
    const options = {
      retain: flags.retain,
      keepWithinMs: flags['keep-within'],
      graceMs: flags.grace,
      dryRun: flags['dry-run'],
      lockWaitMs: flags['lock-wait'],
      onWarning: (m: string) => this.warning(m),
    }
    const result = await this.withJob(flags, (ctx) => pruneCheckpoints(ctx, options), {identity: flags['dry-run'] ? 'check' : 'record'})
    return this.show(result, (r) => {
      if (r.checkpoints.length > 0)
        this.say(
          table(
            ['checkpoint', 'status', 'action', 'why'],
            r.checkpoints.map((c) => [c.checkpointId, statusColor(c.status), c.action, c.reason]),
          ),
        )
      this.say(`${r.dryRun ? 'Would remove' : 'Removed'} ${count(r.removed.length, 'checkpoint')}, kept ${r.kept.length}.`)
      const o = r.objects
      if (o.packsDeleted + o.packsDeferred > 0)
        this.say(
          `${r.dryRun ? 'Would remove' : 'Removed'} ${count(o.packsDeleted, 'pack')} (${formatBytes(o.bytesFreed)}); ${count(o.packsDeferred, 'pack')} left for a later prune${o.deferredBecause ? ` (${o.deferredBecause})` : ''}.`,
        )
      const left = r.leftovers
      if (left && left.temporaries.length + left.folders.length > 0)
        this.say(`${r.dryRun ? 'Would remove' : 'Removed'} ${count(left.temporaries.length, 'temporary file')} of interrupted writes and ${count(left.folders.length, 'empty folder')}.`)
    })
  }
}
