import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../cli/base.js'
import {duration, transferFlags} from '../cli/flags.js'
import {checkpointEndNote, checkpointStartNote, renderRunSummary, runNote, taskOutput} from '../cli/run-output.js'
import {runJob} from '../core/runner/supervisor.js'
import {metricsFlags, runMetrics} from '../cli/metrics.js'

export default class Run extends CkptCommand {
  static override summary = "Run the job's tasks, checkpoint them on an interval, and restore and restart them when one fails."
  static override description = `Restores the newest completed checkpoint first (local copies first; --fresh skips this) and starts each task's command in its own process group with CKPT_TASK_ID, CKPT_STATE_DIR and CKPT_RESTORED_FROM. Task output is passed through as "[task-id] line" (on stderr under --json).

Every --interval a checkpoint is taken as 'ckpt checkpoint take' does. A task without a snapshot command is paused (SIGSTOP/SIGCONT on its process group) only while its stateDir is copied to a scratch folder in its local root (.ckpt-scratch/NODE/JOB); the primary and secondary copies are written after it resumes. One checkpoint at a time: a tick that finds one running is skipped. A failed checkpoint is a warning and the run goes on.

A task that exits non-zero or by a signal triggers a failover: 'job' stops every task, restores all from the newest completed checkpoint and restarts them; 'task' restores and restarts that task alone. Before a checkpoint of this run (or the one it started from) exists, a failed task restarts on its current state. Restarts wait --restart-delay, doubling per restart within --restart-window (at most 1 minute unless the delay is longer); one more than --max-restarts ends the run with exit 1. A task that exits 0 is finished; the run ends when every task has finished.

SIGINT, SIGTERM and --duration stop every task's process group with SIGTERM, and SIGKILL after --stop-timeout; a second SIGINT/SIGTERM kills at once. The tasks never outlive the run: if it is killed (SIGKILL included), a watchdog process kills their process groups, paused ones too.

One run per job and node: the run records itself in its first local root (.ckpt-run/NODE/JOB.json), and while it lives a second run, 'checkpoint take' and 'restore' of the job on this node are refused with exit 1, naming its pid. --checkpoint-on-exit takes a final checkpoint before stopping (if it fails, a run that would exit 0 exits 1). The summary lists checkpoints (duration, pause, bytes) and recoveries (task, checkpoint, source, restore time).

Many nodes: with --task, or tasks that name a node in the job file ("node": "NAME"), this run is one participant of a job spread over several machines: it runs only its tasks and coordinates with the others through the primary store alone (docs/design/many-nodes.md). One participant, the coordinator, announces a checkpoint every --interval; each captures and acknowledges its own tasks; the checkpoint commits when every task of the job has acknowledged, and is aborted when one has not within checkpoint.timeout. With --failover job a failed task makes every node restore the same checkpoint (a new epoch). The job file must be the same on every node.

Job file defaults: checkpoint.interval, run.failover, run.maxRestarts, run.restartWindow, run.restartDelay, run.stopTimeout; flags beat them.`
  static override examples = [
    '<%= config.bin %> run',
    '<%= config.bin %> run --interval 10s --failover task',
    '<%= config.bin %> run --duration 5s --checkpoint-on-exit --json',
    '<%= config.bin %> run --node worker-1',
    '<%= config.bin %> run --node worker-2 --task worker-0',
  ]
  static override flags = {
    ...transferFlags,
    ...metricsFlags,
    interval: duration({timer: true, summary: 'Time between checkpoints, e.g. 30s; 0 takes none (job file checkpoint.interval; default 30s).'}),
    failover: Flags.string({summary: "On a task failure restore and restart every task ('job', default) or that task alone ('task').", options: ['job', 'task']}),
    'max-restarts': Flags.integer({summary: 'Restarts allowed within --restart-window; one more ends the run with exit 1 (default 5).', min: 0}),
    'restart-window': duration({summary: 'The window --max-restarts counts in (default 10m).'}),
    'restart-delay': duration({timer: true, summary: 'Delay before the first restart; doubles per restart within the window (default 1s).'}),
    'stop-timeout': duration({timer: true, summary: 'Time between SIGTERM and SIGKILL when tasks are stopped (default 10s).'}),
    'checkpoint-on-exit': Flags.boolean({summary: 'Take a final checkpoint before stopping the tasks.'}),
    duration: duration({timer: true, summary: 'Stop the run cleanly after this long (exit 0), e.g. 5m.'}),
    fresh: Flags.boolean({summary: 'Do not restore; start every task on its current state.'}),
    task: Flags.string({
      summary: 'Many nodes: run only this task (repeatable); default the tasks whose job-file entry names this node (--node).',
      multiple: true,
      helpValue: '<id>',
    }),
  }

  async run() {
    const {flags} = await this.parse(Run)
    const summary = await this.withJob(
      flags,
      async (ctx) => {
        const note = (m: string) => this.quiet || runNote(m)
        const metrics = await runMetrics(
          ctx,
          flags,
          {
            onOutput: taskOutput(
              this.jsonEnabled() ? process.stderr : process.stdout,
              ctx.job.tasks.map((t) => t.id),
            ),
            onInfo: note,
            onCheckpointStart: (e) => note(checkpointStartNote(e)),
            onCheckpoint: (c) => note(checkpointEndNote(c)),
            onWarning: (m) => this.warning(m),
          },
          note,
        )
        return runJob(
          ctx,
          {
            interval: flags.interval,
            failover: flags.failover,
            maxRestarts: flags['max-restarts'],
            restartWindow: flags['restart-window'],
            restartDelay: flags['restart-delay'],
            stopTimeout: flags['stop-timeout'],
            checkpointOnExit: flags['checkpoint-on-exit'],
            duration: flags.duration,
            fresh: flags.fresh,
            handleSignals: true,
            tasks: flags.task,
          },
          metrics.hooks,
        ).finally(metrics.close)
      },
      {createPrimary: true, identity: 'record'},
    )
    this.endWith(summary.exit.code)
    return this.show(summary, (s) => this.say(renderRunSummary(s)))
  }
}
