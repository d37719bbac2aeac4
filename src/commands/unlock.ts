import * as Flags from '@oclif/core/flags'
import {CkptCommand} from '../cli/base.js'
import {primaryFlags} from '../cli/flags.js'
import {table, when} from '../cli/render.js'
import {unlockJob} from '../core/lock/unlock.js'

export default class Unlock extends CkptCommand {
  static override summary = 'Remove locks on the job left by processes that are gone.'
  static override description = `Take, restore and verify hold shared locks on the job, prune an exclusive one (objects under <job>/locks/ in the primary store). A lock is left behind when its process is gone: its pid no longer runs on the same host, or it has not been refreshed for 30 minutes. Such locks are also taken over, with a warning, by the next command that needs the job.

Shows every lock with whose it is, and removes the stale ones; --all also removes live-looking ones (only when you know their holders are gone, e.g. a machine that died less than 30 minutes ago).`
  static override examples = ['<%= config.bin %> unlock --dry-run', '<%= config.bin %> unlock', '<%= config.bin %> unlock --all --json']
  static override flags = {
    ...primaryFlags,
    all: Flags.boolean({summary: 'Remove every lock, including ones whose holder looks alive.'}),
    'dry-run': Flags.boolean({summary: 'Show the locks and what would be removed; change nothing.'}),
  }

  async run() {
    const {flags} = await this.parse(Unlock)
    const result = await this.withJob(flags, (ctx) => unlockJob(ctx, {all: flags.all, dryRun: flags['dry-run']}))
    return this.show(result, (r) => {
      const rows = [...r.removed.map((l) => [l, r.dryRun ? 'would remove' : 'removed'] as const), ...r.kept.map((l) => [l, 'kept (holder alive)'] as const)]
      if (rows.length === 0) return this.say('No locks.')
      this.say(
        table(
          ['lock', 'mode', 'purpose', 'holder', 'since', 'action', 'why'],
          rows.map(([l, action]) => [l.lockId, l.mode, l.purpose, `pid ${l.pid} on ${l.host} (node ${l.node})`, when(l.createdAt), action, l.stale ?? '']),
        ),
      )
    })
  }
}
