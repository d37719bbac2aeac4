import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../../cli/base.js'
import {transferFlags} from '../../cli/flags.js'
import {progressFlags} from '../../cli/progress.js'
import {statusColor, table} from '../../cli/render.js'
import {takeCheckpoint} from '../../core/checkpoint/take.js'
import {askParticipants, liveParticipants} from '../../core/cluster/request.js'
import {refuseDuringRun} from '../../core/runner/run-record.js'
import {formatBytes, formatDuration} from '../../core/config/units.js'

export default class CheckpointTake extends CkptCommand {
  static override summary = 'Snapshot every task now: write primary and secondary copies, then commit.'
  static override description = `When participants of a many-node job are running ('ckpt run --node'), asks them for a checkpoint, waits for it to commit (or be aborted: exit 1) and reports it. Otherwise: claims the next checkpoint id, captures every task (its snapshot command, or its stateDir), writes each task's primary copy to the primary store and its secondary copy to a local root, and commits the manifest last. A secondary copy that cannot be written is a warning; a primary copy that cannot be written fails the checkpoint.`
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
      async (ctx) => {
        // Many nodes: the running participants take it, each capturing its own tasks.
        if ((await liveParticipants(ctx)).length > 0) {
          if (flags['no-local'] || flags.reread) this.warning('--no-local and --reread apply to a take by this process; the running participants take this checkpoint as their job file says')
          return askParticipants(ctx, {onWarning: (m) => this.warning(m)})
        }
        await refuseDuringRun(ctx.settings, 'checkpoint take')
        return {
          ...(await takeCheckpoint(ctx, {noLocal: flags['no-local'], reread: flags.reread, onWarning: (m) => this.warning(m), progress: progress.listener})),
          ...(ctx.createdPrimary ? {createdPrimary: true} : {}),
        }
      },
      {createPrimary: true, identity: flags.adopt ? 'adopt' : 'record'},
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
