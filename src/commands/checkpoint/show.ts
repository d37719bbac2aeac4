import * as Args from '@oclif/core/args'
import {CkptCommand, EXIT_STATUS} from '../../cli/base.js'
import {table} from '../../cli/render.js'
import {showCheckpoint} from '../../core/catalogue/listing.js'
import {formatBytes} from '../../core/config/units.js'

export default class CheckpointShow extends CkptCommand {
  static override summary = 'Show one completed checkpoint: its tasks, files and sizes.'
  static override description = `ID is a checkpoint id such as chk-7, or 'latest'.

${EXIT_STATUS}`
  static override examples = ['<%= config.bin %> checkpoint show latest', '<%= config.bin %> checkpoint show chk-7 --json']
  static override args = {
    id: Args.string({description: "checkpoint id, or 'latest'", default: 'latest'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(CheckpointShow)
    const result = await this.withJob(flags, (ctx) => showCheckpoint(ctx, args.id))
    this.output(result, (r) => {
      this.say(`Checkpoint ${r.checkpointId} (${r.status}), created ${r.createdAt} by node ${r.node}`)
      for (const task of r.tasks) {
        this.say(`\nTask ${task.taskId}: ${task.files} files, ${formatBytes(task.bytes)}`)
        this.say(table(['path', 'type', 'mode', 'size'], task.entries.map((e) => [e.path, e.type, e.mode, e.type === 'file' ? formatBytes(e.size) : ''])))
      }
    })
  }
}
