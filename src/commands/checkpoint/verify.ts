import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {CkptCommand, EXIT_STATUS} from '../../cli/base.js'
import {durationFlag, lockWaitFlag} from '../../cli/flags.js'
import {progressDisplay, progressFlags, progressMode} from '../../cli/progress.js'
import {paint, statusColor} from '../../cli/render.js'
import {verifyCheckpoints} from '../../core/checkpoint/verify.js'
import {parseSubset} from '../../core/checkpoint/verify-data.js'
import {EXIT} from '../../core/errors.js'

export default class CheckpointVerify extends CkptCommand {
  static override summary = 'Check checkpoints in the primary store; report every problem found.'
  static override description = `Checks, per checkpoint, that the manifest parses and has a known format, that every object it references (task archives and indexes) exists with the recorded size, and that each index matches its digest. --read-data also re-reads every byte and checks every file's SHA-256 and each archive's; --read-data-subset N/M reads the N-th of M fixed slices of the files (M runs with N = 1..M cover everything), P% a random P percent.

IDs default to 'latest' (the newest completed checkpoint). --all checks every checkpoint, and lists incomplete ones (no manifest: never committed, never restored) as 'incomplete' without failing; naming an incomplete or absent id is a problem. Every problem is reported, not just the first. Holds a shared lock on the job, so a prune waits.

${EXIT_STATUS}`
  static override examples = ['<%= config.bin %> checkpoint verify', '<%= config.bin %> checkpoint verify --all --read-data', '<%= config.bin %> checkpoint verify chk-7 chk-8 --read-data-subset 2/5 --json']
  static override strict = false
  static override args = {id: Args.string({description: "checkpoint ids, or 'latest' (default)"})}
  static override flags = {
    ...progressFlags,
    all: Flags.boolean({summary: 'Check every checkpoint in the primary store.', exclusive: ['id']}),
    'read-data': Flags.boolean({summary: "Re-read every byte and check every file's SHA-256.", exclusive: ['read-data-subset']}),
    'read-data-subset': Flags.string({summary: 'Re-read part of the data: N/M (the N-th of M slices) or P%.'}),
    'lock-wait': lockWaitFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(CheckpointVerify)
    const data = flags['read-data'] ? {kind: 'all' as const} : flags['read-data-subset'] ? parseSubset(flags['read-data-subset']) : undefined
    const progress = progressDisplay(progressMode(flags))
    const result = await this.withJob(flags, (ctx) =>
      verifyCheckpoints(ctx, {ids: argv as string[], all: flags.all, data, lockWaitMs: durationFlag('lock-wait', flags['lock-wait']), progress: progress.listener, onWarning: (m) => this.warning(m)}),
    ).finally(progress.done)
    this.output(result, (r) => {
      for (const c of r.checkpoints) {
        this.say(`${c.checkpointId}  ${statusColor(c.status)}  ${c.ok ? paint.green('ok') : paint.red(`${c.problems.length} problem(s)`)}${c.filesRead > 0 ? `  (${c.filesRead} files re-read)` : ''}`)
        for (const p of c.problems) this.say(`  ${[p.taskId && `task ${p.taskId}`, p.file && `file ${p.file}`, p.object && `object ${p.object}`].filter(Boolean).join(', ')}${p.taskId || p.file || p.object ? ': ' : ''}${p.problem}`)
      }
      const bad = r.checkpoints.filter((c) => !c.ok).length
      this.say(bad === 0 ? `No problems in ${r.checkpoints.length} checkpoint(s).` : `Problems in ${bad} of ${r.checkpoints.length} checkpoint(s).`)
    })
    if (!result.ok) process.exitCode = EXIT.verify
  }
}
