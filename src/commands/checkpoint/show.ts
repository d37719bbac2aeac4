import * as Args from '@oclif/core/args'
import {CkptCommand} from '../../cli/base.js'
import {primaryFlags} from '../../cli/flags.js'
import {count, table, when} from '../../cli/render.js'
import {showCheckpoint} from '../../core/catalogue/listing.js'
import {formatBytes} from '../../core/config/units.js'

export default class CheckpointShow extends CkptCommand {
  static override summary = 'Show one completed checkpoint: its tasks, files and sizes.'
  static override description = `ID is a checkpoint id such as chk-7, or 'latest'.`
  static override examples = ['<%= config.bin %> checkpoint show', '<%= config.bin %> checkpoint show latest --json']
  static override args = {
    id: Args.string({description: "checkpoint id, or 'latest'", default: 'latest'}),
  }
  static override flags = {...primaryFlags}

  async run() {
    const {args, flags} = await this.parse(CheckpointShow)
    const result = await this.withJob(flags, (ctx) => showCheckpoint(ctx, args.id))
    return this.show(result, (r) => {
      this.say(`Checkpoint ${r.checkpointId} (${r.status}), created ${when(r.createdAt)} by node ${r.node}`)
      for (const task of r.tasks) {
        const added = task.format === 2 ? `, format 2, ${formatBytes(task.addedBytes)} added${task.base ? ` (base ${task.base})` : ''}` : ''
        this.say(`\nTask ${task.taskId}: ${count(task.files, 'file')}, ${formatBytes(task.bytes)}${added}`)
        this.say(
          table(
            ['path', 'type', 'mode', 'size'],
            task.entries.map((e) => [e.path, e.type, e.mode, e.type === 'file' ? formatBytes(e.size) : '']),
          ),
        )
      }
    })
  }
}
