import {CkptCommand} from '../cli/base.js'
import {primaryFlags} from '../cli/flags.js'
import {statusColor, table} from '../cli/render.js'
import {readJobStatus, type JobStatus} from '../core/cluster/status.js'
import {formatDuration} from '../core/config/units.js'

export default class Status extends CkptCommand {
  static override summary = 'Show the job across nodes as the primary store sees it.'
  static override description = `Participants (each 'ckpt run --node NAME') with their tasks, last heartbeat and state (live: a heartbeat younger than cluster.lease; stale; leaving), the coordinator, the last 10 checkpoints with their acknowledgements (completed, aborted, or open: announced and not yet committed; an open one past checkpoint.timeout is marked so: a participant still waiting for it aborts it, and one nobody waits for stays open, never restored), and for each task the node running it and the node holding its newest local copy (live or not: a stopped node's disk may still hold it). Ages are in the store's time: ckpt writes, reads and removes one probe object to learn it; when the store takes no writes (a read-only SAS or mount) they are measured from its newest record, and the document's clock says so.`
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']
  static override flags = {...primaryFlags}

  async run() {
    const {flags} = await this.parse(Status)
    const result = await this.withJob(flags, (ctx) => readJobStatus(ctx.primary, ctx.job))
    return this.show(result, (r) => this.render(r))
  }

  private render(r: JobStatus): void {
    const coordinator = r.coordinator ? `coordinator ${r.coordinator.node} (term ${r.coordinator.term})` : 'no coordinator'
    this.say(`Job ${r.job}, epoch ${r.epoch}, ${coordinator}`)
    if (r.clock === 'newest-record') this.say('The store takes no writes: ages are measured from its newest record, so the newest heartbeat looks fresh.')
    this.say('')
    if (r.participants.length === 0) this.say("No participants: no 'ckpt run --node' has recorded itself in the store.")
    else {
      const state = (p: JobStatus['participants'][number]) => statusColor(p.leaving ? 'leaving' : p.live ? 'live' : 'stale')
      const rows = r.participants.map((p) => [p.node, p.tasks.join(' '), state(p), `${formatDuration(p.ageMs)} ago`, p.epoch, `${p.pid}@${p.host}`, p.coordinator ? 'yes' : ''])
      this.say(table(['node', 'tasks', 'state', 'heartbeat', 'epoch', 'process', 'coordinator'], rows))
    }
    this.say('')
    if (r.checkpoints.length === 0) this.say('No checkpoints yet.')
    else {
      const acks = (c: JobStatus['checkpoints'][number]) => (c.announced ? `${c.acknowledged}/${c.of}` : '-')
      const state = (c: JobStatus['checkpoints'][number]) => (c.broken ? statusColor('broken') : c.overdue ? `${statusColor(c.status)} (past checkpoint.timeout)` : statusColor(c.status))
      const rows = r.checkpoints.map((c) => [c.checkpointId, state(c), c.epoch, acks(c), c.of])
      this.say(table(['checkpoint', 'status', 'epoch', 'acks', 'tasks'], rows))
    }
    this.say('')
    const copy = (t: JobStatus['tasks'][number]) => (t.localCopyOn ? `${t.localCopyCheckpoint} on ${t.localCopyOn}` : '-')
    this.say(
      table(
        ['task', 'node', 'newest local copy'],
        r.tasks.map((t) => [t.taskId, t.node ?? '-', copy(t)]),
      ),
    )
  }
}
