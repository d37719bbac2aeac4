import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../../cli/base.js'
import {transferFlags} from '../../cli/flags.js'
import {exportTask} from '../../core/checkpoint/export.js'
import {formatBytes} from '../../core/config/units.js'
import {UsageError} from '../../core/errors.js'

export default class CheckpointExport extends CkptCommand {
  static override summary = "Write one task's state of one checkpoint as a plain tar."
  static override description = `ID is a checkpoint id such as chk-7, or 'latest'. The tar holds the task's files, folders and symlinks with their modes, owners and times, in the checkpoint's order; any tar extracts it (GNU tar: tar -xpf FILE --numeric-owner). For a format-2 checkpoint the bytes come from this node's local copy where it holds them, else from the primary, and every blob is checked against its digest before it is written; a format-1 checkpoint's task tar is streamed and checked against its SHA-256. With -o the tar goes to FILE.ckpt-tmp-PID and is renamed to FILE once complete; without it, to stdout (a failure then exits 1 after a partial tar), e.g. ckpt checkpoint export chk-7 --task db | tar -x -C /tmp/db.`
  static override examples = ['<%= config.bin %> checkpoint export latest --task worker-0 -o worker-0.tar', '<%= config.bin %> checkpoint export latest --task worker-0 -o worker-0.tar --json']
  static override args = {
    id: Args.string({description: "checkpoint id, or 'latest'", default: 'latest'}),
  }
  static override flags = {
    ...transferFlags,
    task: Flags.string({summary: 'The task whose state is exported (required).', helpValue: '<id>'}),
    output: Flags.string({char: 'o', summary: 'Write the tar to this file instead of stdout.', helpValue: '<file>'}),
  }

  async run() {
    const {args, flags} = await this.parse(CheckpointExport)
    // Checked here, not by oclif, so the usage line stays short enough to show -j <file> whole.
    if (!flags.task) throw new UsageError('--task is required: name the task whose state to export')
    if (!flags.output && this.jsonEnabled()) throw new UsageError('--json needs -o FILE: without it the tar itself goes to stdout')
    const result = await this.withJob(flags, (ctx) => exportTask(ctx, {checkpointId: args.id, taskId: flags.task!, output: flags.output, onWarning: (m) => this.warning(m)}))
    if (!flags.output) return result
    return this.show(result, (r) => this.say(`Exported task ${r.taskId} of checkpoint ${r.checkpointId} to ${r.output}: ${r.files} files, ${formatBytes(r.bytes)} (tar ${formatBytes(r.tarBytes)}).`))
  }
}
