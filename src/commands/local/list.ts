import {CkptCommand} from '../../cli/base.js'
import {localRoot, node, primaryFlags} from '../../cli/flags.js'
import {count, statusColor, table} from '../../cli/render.js'
import {formatBytes} from '../../core/config/units.js'
import {listLocalCopies} from '../../core/local/list.js'

export default class LocalList extends CkptCommand {
  static override summary = "List this node's secondary copies in its local roots."
  static override description = `Status: pending (its checkpoint is not completed, or the copy was never finished), confirmed (its checkpoint is completed in the primary), orphaned (its checkpoint is no longer completed in the primary), unknown (the primary cannot be reached; a warning says so and the exit code is still 0). Also counts the leftovers of interrupted work on this node (unfinished copies, snapshot folders, scratch copies of 'ckpt run'), which 'local prune' removes; --json lists them under leftovers.`
  static override examples = ['<%= config.bin %> local list', '<%= config.bin %> local list --node worker-3 --json']
  static override flags = {...primaryFlags, 'local-root': localRoot, node}

  async run() {
    const {flags} = await this.parse(LocalList)
    const result = await this.withJob(flags, (ctx) => listLocalCopies(ctx))
    if (result.warning) this.warning(result.warning)
    return this.show(result, (r) => {
      if (r.copies.length === 0) this.say('No secondary copies on this node.')
      else
        this.say(
          table(
            ['task', 'checkpoint', 'status', 'bytes', 'root'],
            r.copies.map((c) => [c.taskId, c.checkpointId, statusColor(c.status), formatBytes(c.bytes), c.root]),
          ),
        )
      this.say('')
      this.say(
        table(
          ['root', 'copies', 'bytes', 'on disk'],
          r.roots.map((x) => [x.root, x.copies, formatBytes(x.bytes), formatBytes(x.diskBytes)]),
        ),
      )
      if (r.leftovers.count > 0) this.say(`\n${count(r.leftovers.count, 'leftover')} of interrupted work (${formatBytes(r.leftovers.bytes)}); 'ckpt local prune' removes them.`)
    })
  }
}
