import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../../cli/base.js'
import {blockSize, concurrency, dataSubset, lockWait, node, primaryFlags} from '../../cli/flags.js'
import {count, paint, statusColor, table} from '../../cli/render.js'
import {verifyCheckpoints, type VerifyResult} from '../../core/checkpoint/verify.js'
import {progressFlags} from '../../cli/progress.js'
import {EXIT} from '../../core/errors.js'

export default class CheckpointVerify extends CkptCommand {
  static override summary = 'Check checkpoints in the primary store; report every problem found.'
  static override description = `Checks, per checkpoint, that the manifest parses and has a known format, that every object it references (task archives and indexes) exists with the recorded size, and that each index matches its digest. --read-data also re-reads every byte and checks every file's SHA-256 and each archive's; --read-data-subset N/M reads the N-th of M fixed slices of the files (M runs with N = 1..M cover everything), P% a random P percent.

Format 2: every pack a task index names must exist with its recorded size; a missing pack fails every checkpoint that needs it, and each problem names the others it breaks (alsoBreaks). --read-data reads each needed pack once and checks that its digest is its name, that its trailer parses and that every blob matches its id; a bad blob names every file and checkpoint using it. Subsets pick packs instead of files.

IDs default to 'latest' (the newest completed checkpoint). --all checks every checkpoint, and lists incomplete ones (no manifest: never committed, never restored) as 'incomplete' without failing; naming an incomplete or absent id is a problem. Every problem is reported, not just the first. Holds a shared lock on the job, so a prune waits.`
  static override examples = [
    '<%= config.bin %> checkpoint verify',
    '<%= config.bin %> checkpoint verify --all --read-data',
    '<%= config.bin %> checkpoint verify latest --read-data-subset 2/5 --json',
  ]
  static override strict = false
  static override args = {id: Args.string({description: "checkpoint ids, or 'latest' (default)"})}
  static override flags = {
    ...primaryFlags,
    node,
    'block-size': blockSize,
    concurrency,
    ...progressFlags,
    all: Flags.boolean({summary: 'Check every checkpoint in the primary store.', exclusive: ['id']}),
    'read-data': Flags.boolean({summary: "Re-read every byte and check every file's SHA-256.", exclusive: ['read-data-subset']}),
    'read-data-subset': dataSubset({summary: 'Re-read part of the data: N/M (the N-th of M slices) or P%.'}),
    'lock-wait': lockWait,
  }

  async run() {
    const {argv, flags} = await this.parse(CheckpointVerify)
    const data = flags['read-data'] ? {kind: 'all' as const} : flags['read-data-subset']
    const progress = this.progressDisplay(flags)
    const result = await this.withJob(flags, (ctx) =>
      verifyCheckpoints(ctx, {ids: argv as string[], all: flags.all, data, lockWaitMs: flags['lock-wait'], progress: progress.listener, onWarning: (m) => this.warning(m)}),
    ).finally(progress.done)
    if (!result.ok) this.endWith(EXIT.verify)
    return this.show(result, (r) => this.render(r))
  }

  private render(r: VerifyResult): void {
    const rows = r.checkpoints.flatMap((c) => {
      const head = [c.checkpointId, statusColor(c.status), c.ok ? statusColor('ok') : paint.red(count(c.problems.length, 'problem')), c.filesRead > 0 ? count(c.filesRead, 'file') : '']
      if (c.problems.length === 0) return [[...head, '', '', '']]
      return c.problems.map((p, i) => [
        ...(i === 0 ? head : ['', '', '', '']),
        p.taskId ?? '',
        [p.file && `file ${p.file}`, p.object && `object ${p.object}`].filter(Boolean).join(', '),
        p.alsoBreaks?.length ? `${p.problem} (also breaks ${p.alsoBreaks.join(', ')})` : p.problem,
      ])
    })
    this.say(table(['checkpoint', 'status', 'result', 'read', 'task', 'where', 'problem'], rows))
    const bad = r.checkpoints.filter((c) => !c.ok).length
    this.say(bad === 0 ? `No problems in ${count(r.checkpoints.length, 'checkpoint')}.` : `Problems in ${bad} of ${count(r.checkpoints.length, 'checkpoint')}.`)
  }
}
