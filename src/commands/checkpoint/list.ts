import {CkptCommand} from '../../cli/base.js'
import {primaryFlags} from '../../cli/flags.js'
import {statusColor, table, when} from '../../cli/render.js'
import {listCheckpoints} from '../../core/catalogue/listing.js'
import {formatBytes, formatDuration} from '../../core/config/units.js'

export default class CheckpointList extends CkptCommand {
  static override summary = 'List every checkpoint in the primary store.'
  static override description = `Shows each checkpoint's id, status (completed: its manifest exists; incomplete: anything else, never restored; broken: its manifest exists but cannot be read, never restored, with the reason), time, how long its take took (start to commit; '-' when its manifest does not say), tasks, size (bytes of state) and what it added to the primary (format 2: the bytes its take stored first; in format 1 every checkpoint stores the whole state, so its size). An aborted checkpoint (its commit record says it never completes) is incomplete (aborted).`
  static override examples = ['<%= config.bin %> checkpoint list', '<%= config.bin %> checkpoint list --json']
  static override flags = {...primaryFlags}

  async run() {
    const {flags} = await this.parse(CheckpointList)
    const result = await this.withJob(flags, (ctx) => listCheckpoints(ctx))
    return this.show(result, (r) => {
      if (r.checkpoints.length === 0) return this.say('No checkpoints yet.')
      const row = (c: (typeof r.checkpoints)[number]) => [
        c.checkpointId,
        c.aborted ? `${statusColor(c.status)} (aborted)` : statusColor(c.broken ? 'broken' : c.status),
        when(c.createdAt),
        c.durationMs === undefined ? '-' : formatDuration(c.durationMs),
        c.broken ? '?' : c.tasks,
        formatBytes(c.bytes),
        formatBytes(c.addedBytes),
      ]
      this.say(table(['checkpoint', 'status', 'created', 'took', 'tasks', 'size', 'added'], r.checkpoints.map(row)))
      for (const c of r.checkpoints.filter((x) => x.broken)) this.say(`${c.checkpointId} is broken and is never restored: ${c.problem}; see 'ckpt checkpoint verify ${c.checkpointId}'`)
    })
  }
}
