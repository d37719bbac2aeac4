import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../../cli/base.js'
import {transferFlags} from '../../cli/flags.js'
import {progressFlags} from '../../cli/progress.js'
import {statusColor, table} from '../../cli/render.js'
import {takeCheckpoint} from '../../core/checkpoint/take.js'
import {formatBytes, formatDuration} from '../../core/config/units.js'

export default class CheckpointTake extends CkptCommand {
  static override summary = 'Snapshot every task now: write primary and secondary copies, then commit.'
  static override description = `Claims the next checkpoint id, captures every task (its snapshot command, or its stateDir), writes each task's primary copy to the primary store and its secondary copy to a local root, and commits the manifest last. A secondary copy that cannot be written is a warning; a primary copy that cannot be written fails the checkpoint.`
  static override examples = ['<%= config.bin %> checkpoint take', '<%= config.bin %> checkpoint take --no-local --json']
  static override flags = {
    ...transferFlags,
    ...progressFlags,
    'no-local': Flags.boolean({summary: 'Write the primary copy only (no secondary copy).'}),
    reread: Flags.boolean({summary: 'Format 2: read every file, trusting no change stamps (as the first take does).'}),
    adopt: Flags.boolean({summary: "Record this job file's tasks as the job's identity in the primary store (after changing the tasks on purpose)."}),
  }

  async run() {
    const {flags} = await this.parse(CheckpointTake)
    const progress = this.progressDisplay(flags)
    const result = await this.withJob(
      flags,
      async (ctx) => ({
        ...(await takeCheckpoint(ctx, {noLocal: flags['no-local'], reread: flags.reread, onWarning: (m) => this.warning(m), progress: progress.listener})),
        ...(ctx.createdPrimary ? {createdPrimary: true} : {}),
      }),
      {createPrimary: true, identity: flags.adopt ? 'adopt' : 'record', refuseDuringRun: 'checkpoint take'},
    ).finally(progress.done)
    return this.show(result, (r) => {
      this.say(
        table(
          ['task', 'files', 'bytes', 'secondary'],
          r.tasks.map((t) => [t.taskId, t.files, formatBytes(t.bytes), statusColor(t.secondary)]),
        ),
      )
      const reused = r.reusedBytes === undefined ? '' : `, ${formatBytes(r.reusedBytes)} reused`
      this.say(`Checkpoint ${r.checkpointId} ${statusColor(r.status)} in ${formatDuration(r.durationMs)}: ${formatBytes(r.uploadedBytes)} uploaded${reused}.`)
    })
  }
}
