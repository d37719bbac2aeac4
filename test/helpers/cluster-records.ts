// Reading many-node tests' records back: a short account of the cluster for timeout messages, and
// the check that no completed checkpoint mixes acknowledgements of two epochs.
import {clusterKeys} from '../../src/core/format/keys.js'
import {JOB, type Cluster} from './cluster.js'

/** The cluster's records in short, for a timeout's message: participants, epochs with targets and restored tasks, the last announcements with their acks. */
export async function describeCluster(cluster: Cluster): Promise<string> {
  const lines: string[] = []
  for (const k of await cluster.keysUnder(clusterKeys.participantsPrefix(JOB))) {
    const p = await cluster.read<{node: string; epoch: number; tasks: string[]; pid: number; leaving?: boolean}>(k)
    if (p) lines.push(`participant ${p.node} pid ${p.pid} epoch ${p.epoch} tasks ${p.tasks.join(',')}${p.leaving ? ' leaving' : ''}`)
  }
  const epochs = (await cluster.keysUnder(clusterKeys.epochsPrefix(JOB))).filter((k) => /epochs\/\d{8}\.json$/.test(k))
  for (const k of epochs) {
    const e = Number(/(\d{8})\.json$/.exec(k)![1])
    const [record, target, restored] = await Promise.all([
      cluster.read<{node: string; reason: string}>(k),
      cluster.read<{checkpointId: string | null; excluded: string[]}>(clusterKeys.target(JOB, e)),
      cluster.restoredIn(e),
    ])
    lines.push(
      `epoch ${e} by ${record?.node} (${record?.reason}): target ${target ? `${target.checkpointId} excluding [${target.excluded}]` : 'none'}; restored ${restored.map((r) => `${r.taskId}@${r.node}:${r.checkpointId}/${r.source}`).join(' ')}`,
    )
  }
  for (const a of (await cluster.announcements()).slice(-6)) {
    const acks = await cluster.acks(a.checkpointId)
    lines.push(`announce ${a.checkpointId} epoch ${a.epoch} by ${a.node}; acks ${acks.map((x) => `${x.taskId}@${x.node}/e${x.epoch}`).join(' ') || 'none'}`)
  }
  const manifests = (await cluster.keysUnder(`${JOB}/manifests/`)).map((k) => k.slice(k.lastIndexOf('/') + 1))
  const marks = (await cluster.keysUnder(`${JOB}/cluster/aborted/`)).map((k) => k.slice(k.lastIndexOf('/') + 1))
  lines.push(`manifest keys: ${manifests.join(' ') || 'none'}; abort marks: ${marks.join(' ') || 'none'}`)
  return lines.join('\n')
}

/** Every completed manifest's acknowledgements are of the manifest's epoch, and its task records are theirs. */
export async function mixedEpochProblems(cluster: Cluster): Promise<string[]> {
  const problems: string[] = []
  for (const m of await cluster.completed()) {
    // Housekeeping removes the announcement and acks of checkpoints decided long ago (the newest 10 stay).
    if (!(await cluster.announcement(m.checkpointId))) continue
    const acks = await cluster.acks(m.checkpointId)
    for (const a of acks) if (a.epoch !== m.epoch) problems.push(`${m.checkpointId} (epoch ${m.epoch}) has an ack of task ${a.taskId} from epoch ${a.epoch} (node ${a.node})`)
    for (const t of m.tasks ?? []) {
      const ack = acks.find((a) => a.taskId === t.taskId)
      if (!ack) problems.push(`${m.checkpointId} completed with task ${t.taskId} but no ack of it`)
      else if (ack.record?.indexSha256 !== t.indexSha256) problems.push(`${m.checkpointId}: task ${t.taskId}'s record is not its ack's`)
    }
  }
  return problems
}
