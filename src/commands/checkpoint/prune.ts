import * as Flags from '@oclif/core/flags'
import {CkptCommand, EXIT_STATUS} from '../../cli/base.js'
import {durationFlag, lockWaitFlag} from '../../cli/flags.js'
import {statusColor, table} from '../../cli/render.js'
import {pruneCheckpoints} from '../../core/checkpoint/prune.js'

export default class CheckpointPrune extends CkptCommand {
  static override summary = 'Remove checkpoints beyond retention, and incomplete leftovers, from the primary store.'
  static override description = `Keeps the newest --retain N completed checkpoints (job file retain.primary, default 3) and those taken within --keep-within; never removes the newest completed checkpoint or an object a kept checkpoint's manifest references. Removes incomplete checkpoints only when they are older than the newest completed one and were last written longer ago than --grace (job file checkpoint.grace, default 1h), so a take in progress is never touched. With a file primary, also removes temporary objects of interrupted writes older than --grace and empty data folders.

A manifest goes before its data: a prune that is killed leaves no completed checkpoint with missing data, and running it again finishes the job. Holds the job's exclusive lock (takes, restores and verifies wait); --dry-run takes no lock and changes nothing.

${EXIT_STATUS}`
  static override examples = ['<%= config.bin %> checkpoint prune --dry-run', '<%= config.bin %> checkpoint prune --retain 5 --keep-within 7d --json']
  static override flags = {
    retain: Flags.integer({summary: 'Completed checkpoints to keep (job file retain.primary, default 3).', min: 1}),
    'keep-within': Flags.string({summary: 'Also keep completed checkpoints taken within this time, e.g. 7d.'}),
    grace: Flags.string({summary: 'Incomplete checkpoints written within this time are kept (job file checkpoint.grace, default 1h).'}),
    'dry-run': Flags.boolean({summary: 'Print what would be removed; change nothing.'}),
    'lock-wait': lockWaitFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(CheckpointPrune)
    const options = {
      retain: flags.retain,
      keepWithinMs: durationFlag('keep-within', flags['keep-within']),
      graceMs: durationFlag('grace', flags.grace),
      dryRun: flags['dry-run'],
      lockWaitMs: durationFlag('lock-wait', flags['lock-wait']),
      onWarning: (m: string) => this.warning(m),
    }
    const result = await this.withJob(flags, (ctx) => pruneCheckpoints(ctx, options), {identity: flags['dry-run'] ? 'check' : 'record'})
    this.output(result, (r) => {
      if (r.checkpoints.length > 0) this.say(table(['checkpoint', 'status', 'action', 'why'], r.checkpoints.map((c) => [c.checkpointId, statusColor(c.status), c.action, c.reason])))
      this.say(`${r.dryRun ? 'Would remove' : 'Removed'} ${r.removed.length} checkpoint(s), kept ${r.kept.length}.`)
      const left = r.leftovers
      if (left && left.temporaries.length + left.folders.length > 0) this.say(`${r.dryRun ? 'Would remove' : 'Removed'} ${left.temporaries.length} temporary file(s) of interrupted writes and ${left.folders.length} empty folder(s).`)
    })
  }
}
