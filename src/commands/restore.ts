import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../cli/base.js'
import {transferFlags} from '../cli/flags.js'
import {progressFlags} from '../cli/progress.js'
import {statusColor, table} from '../cli/render.js'
import {formatBytes, formatDuration} from '../core/config/units.js'
import {restoreJob} from '../core/restore/restore.js'

export default class Restore extends CkptCommand {
  static override summary = 'Restore every task (or --task) to one checkpoint, local copies first.'
  static override description = `ID defaults to the latest completed checkpoint. Per task, this node's secondary copy is used when it exists, and its bytes are checked against the manifest's SHA-256; files missing or different come from the primary (source 'mixed'). For a format-2 checkpoint, files already in the stateDir whose blobs match are kept first (inPlaceBytes; --plan estimates them from sizes and times without hashing), then the secondary copy, then the primary; --prefer remote takes every byte from the primary. If the primary cannot serve a task, the whole job falls back to the next older completed checkpoint (unless --no-fallback). New state is written beside each stateDir and swapped in only when every task is complete and verified.`
  static override examples = ['<%= config.bin %> restore --plan', '<%= config.bin %> restore', '<%= config.bin %> restore latest --prefer remote --json']
  static override args = {
    id: Args.string({description: "checkpoint id, or 'latest' (default)"}),
  }
  static override flags = {
    ...transferFlags,
    ...progressFlags,
    plan: Flags.boolean({summary: 'Print the plan (per task: checkpoint, source, bytes, why) and change nothing.'}),
    task: Flags.string({summary: 'Restore only this task; repeatable.', multiple: true}),
    prefer: Flags.string({
      summary: "'local' (default) uses verified secondary copies (and, for format 2, the stateDir's own files); 'remote' skips them.",
      options: ['local', 'remote'],
      default: 'local',
    }),
    'no-fallback': Flags.boolean({summary: 'Fail instead of falling back to an older checkpoint.'}),
  }

  async run() {
    const {args, flags} = await this.parse(Restore)
    const progress = this.progressDisplay(flags)
    const result = await this.withJob(
      flags,
      (ctx) =>
        restoreJob(ctx, {
          checkpointId: args.id,
          taskIds: flags.task,
          plan: flags.plan,
          preferRemote: flags.prefer === 'remote',
          noFallback: flags['no-fallback'],
          progress: progress.listener,
          onWarning: (m) => this.warning(m),
        }),
      {refuseDuringRun: flags.plan ? undefined : 'restore'},
    ).finally(progress.done)
    return this.show(result, (r) => {
      this.say(
        table(
          ['task', 'checkpoint', 'source', 'in place', 'local', 'remote', 'why'],
          r.tasks.map((t) => [t.taskId, t.checkpointId, statusColor(t.source), formatBytes(t.inPlaceBytes), formatBytes(t.localBytes), formatBytes(t.remoteBytes), t.reason]),
        ),
      )
      this.say(r.planned ? `Plan for checkpoint ${r.checkpointId}; nothing was changed.` : `Restored checkpoint ${r.checkpointId} in ${formatDuration(r.durationMs)}.`)
    })
  }
}
