// Many nodes (issue 14): a job of 8 tasks on 4 participants, each a real `ckpt run --node` process
// with its own local root, on the file store. The recovery after a participant is lost and
// replaced, local copies against every task from the primary; the commit's store round trips; and a
// checkpoint of 4 participants against one participant holding all 8 tasks.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {ckpt, ckptEnv} from '../lib/ckpt.js'
import {rewriteFiles, type TreeInfo} from '../lib/data.js'
import {syncDisks} from '../lib/exec.js'
import {summarize} from '../lib/measure.js'
import {atMostTarget, ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'
import {median} from '../lib/stats.js'
import {onePercent} from './incremental-lib.js'
import {openLink, linkNote} from '../lib/link.js'
import {
  LEASE,
  POLL,
  azureView,
  commitSpanMs,
  currentEpochOf,
  fileView,
  fillStates,
  manifestOf,
  mnJob,
  startParticipant,
  untilJoined,
  untilRestored,
  untilStale,
  startLags,
  timeline,
  type MnJob,
  type Participant,
  type StoreView,
} from './many-nodes-lib.js'

type Result = Omit<CaseResult, 'durationMs'>

const TASKS = 8
const NODES = 4
const PER_NODE = TASKS / NODES
const LEASE_MS = 4000

async function datasets(b: BenchContext): Promise<TreeInfo[]> {
  const {mnSize: bytes, mnFiles: files} = b.options
  return Promise.all(Array.from({length: TASKS}, (_, k) => b.dataset(`mn-t${k}`, {files, bytes, seed: `mn-t${k}`})))
}

/** Where the job's primary is: the records' reader and the participants' extra environment. */
interface Where {
  view: StoreView
  env: Record<string, string>
}

const FILE: Where = {view: fileView, env: {}}

/** `ckpt checkpoint take` against the running participants: they capture, it reports the outcome. */
async function take(b: BenchContext, job: MnJob, where: Where = FILE): Promise<any> {
  const env = ckptEnv({...where.env, CKPT_LOCAL_ROOTS: path.join(job.dir, 'local', 'take')})
  const r = await ckpt(env, b.options.timeoutMs, b.options.cli).run(['checkpoint', 'take', '-j', job.file, '--json'])
  if (r.json?.status !== undefined && r.json.status !== 'completed') throw new Error(`checkpoint take: ${r.stdout}`)
  return r.json
}

async function startAll(b: BenchContext, job: MnJob, nodes: string[], where: Where = FILE): Promise<Participant[]> {
  const all = nodes.map((n) => startParticipant(b, job, n, [], where.env))
  await untilJoined(where.view, job, nodes, all)
  return all
}

const stopAll = async (all: Participant[]) => Promise.all(all.map((p) => p.stop()))

export const mnRecoveryCase = (b: BenchContext) => recoveryOver(b, FILE)

/** The recovery case on Azurite, through the bench's network model (azure-* cases run once per --network). */
export async function azureMnRecoveryCase(b: BenchContext): Promise<Result> {
  const az = await b.azurite()
  await az.createContainer(MN_CONTAINER)
  const link = await openLink(az, b.network)
  try {
    const where = {view: await azureView(az.connectionString, MN_CONTAINER), env: {AZURE_STORAGE_CONNECTION_STRING: link.connectionString}}
    const r = await recoveryOver(b, where, link.name)
    return {
      ...r,
      id: 'azure-mn-recovery',
      network: link.name,
      networkDescription: link.description,
      title: r.title.replace('(file store)', `(Azurite, ${link.name})`),
      method: `${r.method} The primary is Azurite; the participants reach it over the link, the bench reads the records straight from Azurite every 50 ms, and a restored record's time is when the bench first saw it (Azure times have 1 s resolution).`,
      targets: r.targets.map((t) => link.judge(t)),
      notes: [...r.notes, linkNote(link)],
    }
  } finally {
    await link.close()
    await az.deletePrefix(MN_CONTAINER, '').catch(() => {})
  }
}

const MN_CONTAINER = 'mnbench'

async function recoveryOver(b: BenchContext, where: Where, network?: string): Promise<Result> {
  const data = await datasets(b)
  const nodes = Array.from({length: NODES}, (_, i) => `n${i}`)
  const lost = nodes[NODES - 1]
  const seen: Record<string, string[]> = {local: [], primary: []}
  const docs: any[] = []
  let round = 0
  const recovery = async (side: 'local' | 'primary'): Promise<number> => {
    const job = await mnJob(path.join(b.work, `mn-recovery-${network ?? 'file'}`, `r${++round}`), 'mn', TASKS, PER_NODE, where.view)
    await fillStates(
      job,
      data.map((d) => d.dir),
    )
    const all = await startAll(b, job, nodes, where)
    try {
      const first = await take(b, job, where)
      const byNode = new Map(all.map((p) => [p.node, p]))
      await byNode.get(lost)!.lose()
      // The lost machine's disk is gone: its local root and its tasks' stateDirs.
      await fs.rm(job.localRoot(lost), {recursive: true, force: true})
      const moved = job.tasks.filter((t) => t.node === lost)
      // Every task's state has moved on since the checkpoint: here it is gone, so every byte comes from a copy.
      for (const t of job.tasks) await fs.rm(t.stateDir, {recursive: true, force: true})
      if (side === 'primary') for (const n of nodes.filter((x) => x !== lost)) await fs.rm(path.join(job.localRoot(n), n), {recursive: true, force: true})
      await untilStale(where.view, job, lost, LEASE_MS)
      await syncDisks() // the checkpoint's write-back is not the recovery's
      const epoch = await currentEpochOf(where.view, job)
      const replacement = startParticipant(
        b,
        job,
        `${lost}-new`,
        moved.map((t) => t.id),
        where.env,
      )
      const live = [...all.filter((p) => p.node !== lost), replacement]
      const restored = await untilRestored(where.view, job, epoch, live)
      const ms = Math.max(...restored.tasks.map((t) => t.at)) - replacement.startedAt
      if (!Number.isFinite(ms)) throw new Error(`no time for the restored records of epoch ${restored.epoch}: ${JSON.stringify(restored.tasks)}`)
      for (const t of restored.tasks) if (t.checkpointId !== first.checkpointId) throw new Error(`task ${t.taskId} restored ${t.checkpointId}, expected ${first.checkpointId}`)
      seen[side].push(
        restored.tasks
          .sort((x, y) => x.taskId.localeCompare(y.taskId))
          .map((t) => `${t.taskId}@${t.node} ${t.source}`)
          .join(', '),
      )
      b.log(`  recovery (${side === 'local' ? 'local copies' : 'every task from the primary'}): ${(ms / 1000).toFixed(2)} s`)
      const epochAt = await where.view.modifiedMs(job, `cluster/epochs/${String(restored.epoch).padStart(8, '0')}.json`)
      rss[side].push(Math.max(...(await Promise.all(live.map((p) => p.peakRssKiB())))))
      const out = await stopAll(live)
      docs.push({side, recoveries: out.map((d: any) => d?.recoveries ?? []), timeline: timeline(replacement.startedAt, epochAt, live, out)})
      return ms
    } finally {
      await Promise.all(all.map((p) => (p.proc.exitCode === null && p.proc.signalCode === null ? p.stop() : undefined)))
      await fs.rm(job.dir, {recursive: true, force: true})
    }
  }
  const samples: Record<string, number[]> = {local: [], primary: []}
  const rss: Record<string, number[]> = {local: [], primary: []}
  for (let r = 0; r < b.options.pairs; r++) for (const side of r % 2 === 0 ? (['local', 'primary'] as const) : (['primary', 'local'] as const)) samples[side].push(await recovery(side))
  const total = TASKS * b.options.mnSize
  const local = summarize(
    {
      id: 'mn-recovery-local',
      label: 'replacement of one participant: 6 tasks from their nodes\u2019 copies, 2 from the primary',
      command: 'ckpt run -j job.json --node n3-new --task t6 --task t7 --json',
      bytes: total,
    },
    samples.local,
    rss.local,
  )
  const primary = summarize(
    {
      id: 'mn-recovery-primary',
      label: 'the same, every task from the primary (survivors\u2019 local copies removed)',
      command: 'ckpt run -j job.json --node n3-new --task t6 --task t7 --json',
      bytes: total,
    },
    samples.primary,
    rss.primary,
  )
  const maxRecovery = (side: string) => docs.filter((d) => d.side === side).map((d) => Math.max(...d.recoveries.flat().map((r: any) => r.durationMs ?? 0)))
  return {
    id: 'mn-recovery',
    title: `Recovery of a job of ${NODES} participants and ${TASKS} tasks (${formatSize(b.options.mnSize)} in ${b.options.mnFiles} files each) after one participant is lost and replaced: local copies vs every task from the primary (file store)`,
    method: `Per round, a new job: ${TASKS} stateDirs copied from the data sets (untimed), ${NODES} participants (ckpt run --node n0..n3, 2 tasks each, its own local root via CKPT_LOCAL_ROOTS; cluster.lease ${LEASE}, poll ${POLL}), one checkpoint by ckpt checkpoint take (full, untimed). Then kill -9 of n3 and its task processes; n3's local root removed; every task's stateDir removed (the state moved on since the checkpoint, so every byte comes from a copy); on the primary side also the survivors' copies (LOCALROOT/NODE). After n3's participant record is older than the lease, the replacement n3-new starts with --task t6 --task t7 and an empty local root; it begins a new epoch and every participant restores the checkpoint. The figure: from the replacement's spawn to the newest restored record of that epoch (epochs/E/restored/TASK.json mtime; same machine). ${b.options.pairs} rounds per side, order alternated. Peak RSS: the largest of the participants'.`,
    measurements: [local, primary],
    targets: [
      ratioTarget('recovery after one participant is lost and replaced vs every task from the primary', '≥ 2× faster', local, primary, 2, (r) => `${r} (${local.medianMs} vs ${primary.medianMs} ms)`),
    ],
    notes: [
      `Per-task sources (restored records), local side: ${seen.local.join(' / ')}.`,
      `Per-task sources, primary side: ${seen.primary.join(' / ')}.`,
      `Timelines (ms after the replacement's spawn; epoch: the new epoch's record written; per node: restore began +its duration), local side: ${docs
        .filter((d) => d.side === 'local')
        .map((d) => d.timeline)
        .join(' / ')}; primary side: ${docs
        .filter((d) => d.side === 'primary')
        .map((d) => d.timeline)
        .join(' / ')}.`,
      `Longest per-task restore in the participants' run JSON (recoveries durationMs), local side: ${maxRecovery('local').join(', ')} ms; primary side: ${maxRecovery('primary').join(', ')} ms.`,
    ],
  }
}

export async function mnCheckpointCase(b: BenchContext): Promise<Result> {
  const data = await datasets(b)
  const dir = path.join(b.work, 'mn-checkpoint')
  const four = await mnJob(path.join(dir, 'four'), 'mn4', TASKS, PER_NODE)
  const one = await mnJob(path.join(dir, 'one'), 'mn1', TASKS, TASKS)
  const sides = [
    {id: 'mn-checkpoint-4', label: `${NODES} participants × ${PER_NODE} tasks`, job: four, nodes: Array.from({length: NODES}, (_, i) => `n${i}`)},
    {id: 'mn-checkpoint-1', label: `1 participant × ${TASKS} tasks`, job: one, nodes: ['n0']},
  ]
  const count = onePercent(b.options.mnFiles)
  const spans: Record<string, number[]> = {}
  const walls: Record<string, number[]> = {}
  const running: Participant[] = []
  const docs: Record<string, any[]> = {}
  const rss: Record<string, number[]> = {}
  const announced = new Map<string, number>()
  try {
    for (const s of sides) {
      await fillStates(
        s.job,
        data.map((d) => d.dir),
      )
      running.push(...(await startAll(b, s.job, s.nodes)))
      await take(b, s.job) // the full first checkpoint, untimed: every timed one has a previous copy
      spans[s.id] = []
      walls[s.id] = []
    }
    for (let r = 1; r <= b.options.mnCheckpoints; r++) {
      for (const s of r % 2 === 1 ? sides : [...sides].reverse()) {
        // The same change on both sides: 1% of each task's files, the same files and bytes.
        for (const t of s.job.tasks) await rewriteFiles({...data[Number(t.id.slice(1))], dir: t.stateDir}, count, r)
        await syncDisks()
        const started = Date.now()
        const json = await take(b, s.job)
        walls[s.id].push(Date.now() - started)
        const manifest = await manifestOf(fileView, s.job, json.checkpointId)
        announced.set(`${s.id}/${json.checkpointId}`, Date.parse(manifest.createdAt))
        const span = commitSpanMs(manifest)
        spans[s.id].push(span)
        b.log(`  ${s.label}: ${json.checkpointId} committed ${span} ms after its announcement (take ${walls[s.id].at(-1)} ms)`)
      }
    }
    for (const s of sides) rss[s.id] = await Promise.all(running.filter((p) => p.proc.spawnargs.includes(s.job.file)).map((p) => p.peakRssKiB()))
  } finally {
    for (const s of sides) docs[s.id] = await Promise.all(running.filter((p) => p.proc.exitCode === null && s.nodes.includes(p.node) && p.proc.spawnargs.includes(s.job.file)).map((p) => p.stop()))
    await fs.rm(dir, {recursive: true, force: true})
  }
  const m = sides.map((s) =>
    summarize(
      {
        id: s.id,
        label: `${s.label}: announcement to commit, ${count} of ${b.options.mnFiles} files per task rewritten`,
        command: 'ckpt checkpoint take -j job.json --json (against the running participants)',
        bytes: TASKS * b.options.mnSize,
      },
      spans[s.id],
      rss[s.id] ?? [],
    ),
  )
  const [m4, m1] = m
  const ratio = m4.medianMs !== null && m1.medianMs ? Math.round((m4.medianMs / m1.medianMs) * 100) / 100 : null
  const trips = docs[sides[0].id].flatMap((d: any) => (d?.checkpoints ?? []).map((c: any) => c.commitRoundTrips).filter((x: unknown) => typeof x === 'number')) as number[]
  const maxTrips = trips.length > 0 ? Math.max(...trips) : null
  return {
    id: 'mn-checkpoint',
    title: `Checkpoint of ${NODES} participants × ${PER_NODE} tasks vs 1 participant × ${TASKS} tasks, same state (${TASKS} × ${formatSize(b.options.mnSize)} in ${b.options.mnFiles} files), and the commit's store round trips (file store)`,
    method: `Two jobs side by side on the file store, same data: ${NODES} participants (ckpt run --node n0..n3, 2 tasks each) and one participant (--node n0, all ${TASKS} tasks), cluster.lease ${LEASE}, poll ${POLL}. A full first checkpoint per job (untimed); then ${b.options.mnCheckpoints} checkpoints per job, alternating, each after the same ${count} of ${b.options.mnFiles} files of every task were rewritten (1%), asked for by ckpt checkpoint take. The figure: the manifest's completedAt (newest acknowledgement) − createdAt (announcement). Round trips: commitRoundTrips of every checkpoint in the participants' run JSON (the participant that wrote the manifest). Peak RSS: the largest of each side's participants.`,
    measurements: m,
    targets: [
      atMostTarget(`checkpoint of ${NODES} participants vs 1 participant holding all tasks`, '≤ 1.2× its time', ratio, 1.2, `${ratio}× (median ${m4.medianMs} vs ${m1.medianMs} ms)`),
      atMostTarget(
        'commit after the last acknowledgement',
        '≤ 2 store round trips',
        maxTrips,
        2,
        trips.length > 0 ? `max ${maxTrips}, median ${median(trips)} over ${trips.length} checkpoints` : 'not reported',
      ),
    ],
    notes: [
      `Take wall time (request to reported outcome), ${sides[0].label}: ${walls[sides[0].id]?.join(', ')} ms; ${sides[1].label}: ${walls[sides[1].id]?.join(', ')} ms.`,
      ...sides.map((s) => `${s.label}, announcement to each participant's start on it (its run JSON completedAt − durationMs), ms: ${startLags(s.id, s.nodes, docs[s.id], announced)}.`),
      `commitRoundTrips per checkpoint (${sides[0].label}, incl. the first): ${trips.join(', ')}; one participant: ${docs[sides[1].id].flatMap((d: any) => (d?.checkpoints ?? []).map((c: any) => c.commitRoundTrips ?? '-')).join(', ')}.`,
    ],
  }
}
