import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../cli/base.js'
import {jobFile, localRoot, parseSizeFlag, primary} from '../cli/flags.js'
import {nextStepHint} from '../cli/init-output.js'
import {localRootsFromEnv} from '../core/config/settings.js'
import {writeStarterJobFile} from '../core/config/starter.js'
import {JobFileExistsError} from '../core/errors.js'

export default class Init extends CkptCommand {
  static override summary = 'Write a working starter job file.'
  static override description = `Writes ./ckpt.json (or --job-file; a folder means its ckpt.json) for a job named after the file (jobs/orders.json: job orders); --primary, --local-root and --block-size are written into it. It has one task that appends a line to a file in its state folder every second, the embedded file store as primary, and one local root. Refuses to overwrite an existing file without --force.

Job file fields (JSON, relative paths resolve against the file's folder):
  job                   the job's name: letters, digits, '.', '_', '-' (required)
  primary               primary store: a folder (default .ckpt/primary), file://PATH, azure://CONTAINER[/PREFIX], or a container URL with a SAS token
  localRoots            folders for this node's secondary copies (default [".ckpt/local"])
  retain.primary        completed checkpoints kept by 'checkpoint prune' (default 3)
  retain.local          confirmed secondary copies kept per task (default 1)
  checkpoint.interval   time between checkpoints under 'ckpt run' (default "30s")
  checkpoint.timeout    time a snapshot command may take (default "10m")
  checkpoint.grace      age before an incomplete checkpoint or pending copy counts as abandoned (default "1h")
  checkpoint.format     what takes write: 2, incremental and content-addressed (default), or 1, one tar per task
  checkpoint.rereadEvery  format 2: every Nth take reads every file (default 0: never)
  transfer.blockSize    block size for remote transfers (default "8MiB")
  transfer.concurrency  parallel blocks or ranges per transfer (default 4)
  run.*                 defaults for 'ckpt run': failover, maxRestarts, restartWindow, restartDelay, stopTimeout
  tasks[].id            the task's id, unique in the job (required)
  tasks[].stateDir      the folder that holds the task's state (required)
  tasks[].command       what 'ckpt run' starts: argv array, or a string run by /bin/sh -c
  tasks[].snapshot      {command, timeout}: fills $CKPT_SNAPSHOT_DIR with a consistent copy of the state
  tasks[].env           extra environment for the task and its snapshot command`
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --job-file jobs/orders.json --force']
  static override flags = {
    'job-file': jobFile,
    primary,
    'local-root': localRoot,
    // Written into the file as given ("8MiB"), once it parses as a size.
    'block-size': Flags.string({
      summary: 'Transfer block size for remote stores, written into the job file, e.g. 8MiB.',
      parse: async (input) => (parseSizeFlag('block-size', input, {min: 1}), input),
    }),
    force: Flags.boolean({summary: 'Overwrite an existing job file.'}),
  }

  async run() {
    const {flags} = await this.parse(Init)
    const result = await this.writeStarter(flags['job-file'] ?? process.env.CKPT_JOB_FILE ?? 'ckpt.json', {
      force: flags.force,
      // Flags beat the environment, as for every command (CKPT_PRIMARY, CKPT_LOCAL_ROOTS).
      primary: flags.primary ?? process.env.CKPT_PRIMARY,
      localRoots: flags['local-root'] ?? localRootsFromEnv(),
      blockSize: flags['block-size'],
    })
    return this.show(result, (r) => {
      this.say(`Wrote ${r.jobFile} (job ${r.job}, task ${r.tasks.join(', ')}).`)
      this.say(nextStepHint(flags['job-file']))
    })
  }

  /** The core says the file exists; the flag that overwrites it is the CLI's to name. */
  private async writeStarter(...args: Parameters<typeof writeStarterJobFile>): ReturnType<typeof writeStarterJobFile> {
    try {
      return await writeStarterJobFile(...args)
    } catch (error) {
      if (error instanceof JobFileExistsError) throw new JobFileExistsError(`${error.message}; use --force to overwrite it`, {cause: error})
      throw error
    }
  }
}
