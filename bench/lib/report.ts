// Writes bench/results.json (everything) and bench/RESULTS.md (the same, for people).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {MachineInfo} from './machine.js'
import type {Measurement} from './measure.js'
import type {CaseResult, TargetResult} from './model.js'
import type {BenchOptions} from './options.js'

export interface BenchResults {
  generatedAt: string
  durationMs: number
  command: string
  machine: MachineInfo
  versions: Record<string, string>
  options: BenchOptions
  cases: CaseResult[]
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = bytes
  let i = 0
  while (v >= 1024 && i < units.length - 1 && Number.isInteger(v / 1024)) {
    v /= 1024
    i++
  }
  if (v >= 1024 && i < units.length - 1) {
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024
      i++
    }
    return `${v.toFixed(1)} ${units[i]}`
  }
  return `${v} ${units[i]}`
}

const ms = (v: number | null) => (v === null ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`)
const verdict = (t: TargetResult) => (t.met === null ? `not judged: ${t.notJudged}` : t.met ? '**met**' : '**missed**')

function measurementTable(list: Measurement[]): string[] {
  const rows = ['| run | median | min – max | n | MB/s | CPU (median) | peak RSS | command |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |']
  for (const m of list) {
    if (m.notRun) {
      rows.push(`| ${m.label} | peer not run | | 0 | | | | ${m.notRun} |`)
      continue
    }
    rows.push(
      `| ${m.label} | ${ms(m.medianMs)} | ${ms(m.minMs)} – ${ms(m.maxMs)} | ${m.samplesMs.length} | ${m.mbPerS ?? ''} | ${m.cpuS === undefined ? '' : `${m.cpuS} s`} | ${m.maxRssMiB === undefined ? '' : `${m.maxRssMiB} MiB`} | \`${m.command}\` |`,
    )
  }
  return rows
}

/** RESULTS.md and results.json, or RESULTS-LABEL.md and results-LABEL.json for a labelled run. */
export function resultFiles(label = ''): {markdown: string; json: string} {
  return label ? {markdown: `RESULTS-${label}.md`, json: `results-${label}.json`} : {markdown: 'RESULTS.md', json: 'results.json'}
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = []
  out.push('# ckpt benchmarks', '')
  out.push(
    `Generated ${r.generatedAt} by \`${r.command}\` in ${(r.durationMs / 60_000).toFixed(1)} min. Raw samples: [${resultFiles(r.options.label).json}](${resultFiles(r.options.label).json}).`,
    '',
  )
  out.push('## Machine', '')
  out.push(`- CPU: ${r.machine.cpuModel}, ${r.machine.nproc} cores (nproc)`)
  out.push(`- Memory: ${r.machine.memoryGiB} GiB`)
  out.push(`- OS: ${r.machine.os}, ${r.machine.kernel}`)
  out.push(`- Disk: ${r.machine.filesystem}`, '')
  out.push('## Versions', '')
  for (const [k, v] of Object.entries(r.versions)) out.push(`- ${k}: ${v}`)
  out.push('')
  const loads = r.cases.flatMap((c) => c.loadAverage ?? [])
  if (loads.length > 0 && Math.max(...loads) > r.machine.nproc) {
    out.push(
      `**Caution:** the 1-minute load average reached ${Math.max(...loads)} on ${r.machine.nproc} cores during this run (other work on the machine); absolute times are inflated and ratios are noisier than usual.`,
      '',
    )
  }
  out.push('## Targets', '')
  out.push('| case | network | target | measured | verdict |', '| --- | --- | --- | --- | --- |')
  for (const c of r.cases) {
    if (c.error) out.push(`| ${c.title} | ${c.network ?? ''} | | failed: ${c.error.replace(/\|/g, '\\|')} | **error** |`)
    for (const t of c.targets) out.push(`| ${t.name} | ${t.network ?? ''} | ${t.target} | ${t.measured} | ${verdict(t)} |`)
  }
  out.push('')
  out.push(...byNetwork(r.cases))
  out.push('## Method', '')
  out.push(
    '- ckpt runs as the real CLI (`node bin/run.js …`, built from the working tree into the scratch folder first unless `--no-build`), so every figure includes Node and oclif start-up, the job file and opening the stores. The one exception is noted in its case.',
    `- Each case runs its sides in turn (A B A B …, ${r.options.pairs} rounds unless the case says otherwise) and reports medians; ratios are of medians. Set-up and clean-up between runs are untimed, and \`sync\` runs before every timed run so one run's write-back does not land in the next.`,
    '- Data sets are made by the bench: deterministic AES-CTR keystream bytes (incompressible, no duplicate blocks), 100 files per folder. The page cache is warm for every side alike (the bench cannot drop caches in this container).',
    "- Azurite (from npm, data on disk, started by the test suite's helper) runs on the same machine; rclone reaches it through a container SAS URL. Peers run with their defaults.",
    `- The Azurite cases run once per link (${r.options.networks?.join(', ') ?? 'same-machine'}): \`same-machine\` talks to Azurite directly; a profile puts the bench's network model (bench/lib/netem-proxy.ts) between every client (ckpt, rclone, the SDK peer) and Azurite. The model is bandwidth and delay only: a token bucket per direction shared by all connections, half the round trip added to every byte each way (so each request/response exchange pays one round trip), one more round trip before a new connection's first byte, optionally a cap per connection. It leaves out loss, jitter, reordering, TCP slow start and window limits, TLS handshakes, and the real service's own latency and throttling; Azurite still runs on the same cores. The proxy runs on a worker thread at raised priority so load on the machine slows it as little as possible.`,
    '',
  )
  for (const c of r.cases) {
    out.push(`## ${c.title}`, '')
    out.push(c.method, '')
    if (c.error) out.push(`**The case failed:** ${c.error}`, '')
    if (c.series) {
      const ops = Object.keys(c.series.fits)
      out.push(`| ${c.series.axis} | ${ops.map((o) => `${o} (median)`).join(' | ')} |`, `| ---: | ${ops.map(() => '---:').join(' | ')} |`)
      for (const p of c.series.points) out.push(`| ${p.x} | ${ops.map((o) => ms(p.medians[o])).join(' | ')} |`)
      out.push('')
      out.push(
        `Least-squares slopes: ${ops.map((o) => `${o} ${(c.series!.fits[o].slope * 1000).toFixed(2)} ms per 1,000 ${c.series!.axis} (fixed part ${Math.round(c.series!.fits[o].intercept)} ms)`).join('; ')}.`,
        '',
      )
    }
    if (c.measurements.length > 0) out.push(...measurementTable(c.measurements), '')
    if (c.targets.length > 0) {
      for (const t of c.targets) out.push(`- ${t.name}: ${t.measured} — target ${t.target}: ${verdict(t)}`)
      out.push('')
    }
    for (const n of c.notes) out.push(`- ${n}`)
    if (c.notes.length > 0) out.push('')
    out.push(`(${(c.durationMs / 1000).toFixed(0)} s${c.loadAverage ? `; load average ${c.loadAverage[0]} → ${c.loadAverage[1]} on ${r.machine.nproc} cores` : ''})`, '')
  }
  out.push('## Reproduce', '')
  out.push(
    '```sh',
    'npm ci',
    'npm run bench                        # the defaults above; installs rclone, restic and time with apt-get if missing (as root)',
    "npm run bench -- --azure-size 1GiB --azure-files 1000   # the Azurite cases at the issue's full size (longer than 10 minutes)",
    'npm run bench -- --cases local,file-store --size 256MiB # a subset, smaller',
    'npm run bench -- --cases azure-restore,azure-take --network cloud   # the Azurite cases over one modelled link (lan, cloud, wan)',
    'npm run bench -- --render             # rewrite RESULTS.md from results.json',
    'npm run bench -- --help               # every flag (each also reads CKPT_BENCH_<NAME>)',
    '```',
    '',
  )
  return out.join('\n')
}

const cell = (m: Measurement | undefined) => (!m ? '' : m.notRun ? 'not run' : `${ms(m.medianMs)}${m.mbPerS ? ` (${m.mbPerS} MB/s)` : ''}`)

/** The Azurite cases side by side, one column per link. */
function byNetwork(cases: CaseResult[]): string[] {
  const linked = cases.filter((c) => c.network)
  const networks = [...new Set(linked.map((c) => c.network!))]
  if (networks.length === 0) return []
  const out = ['## Azurite cases by network', '']
  for (const n of networks) out.push(`- ${linked.find((c) => c.network === n)!.networkDescription ?? n}`)
  out.push('', `| case | run or target | ${networks.join(' | ')} |`, `| --- | --- | ${networks.map(() => '---:').join(' | ')} |`)
  for (const id of [...new Set(linked.map((c) => c.id))]) {
    const of = (n: string) => linked.find((c) => c.id === id && c.network === n)
    const first = linked.find((c) => c.id === id)!
    const title = first.title.replace(/, over .*$/, '')
    for (const m of first.measurements) out.push(`| ${title} | ${m.label} | ${networks.map((n) => cell(of(n)?.measurements.find((x) => x.id === m.id))).join(' | ')} |`)
    for (const t of first.targets) {
      const per = networks.map((n) => of(n)?.targets.find((x) => x.name === t.name))
      out.push(
        `| ${title} | ${t.name} (${t.target}) | ${per.map((x) => (!x ? '' : x.value === null ? '—' : `${x.measured.split(' ')[0]} ${x.met === null ? '(comparison)' : x.met ? 'met' : '**missed**'}`)).join(' | ')} |`,
      )
    }
  }
  out.push('')
  return out
}

/** Rewrites RESULTS.md from results.json (after a change to the rendering). */
export async function renderResults(outDir: string, label = ''): Promise<void> {
  const files = resultFiles(label)
  const results = JSON.parse(await fs.readFile(path.join(outDir, files.json), 'utf8')) as BenchResults
  await fs.writeFile(path.join(outDir, files.markdown), renderMarkdown(results))
}

export async function writeResults(outDir: string, results: BenchResults): Promise<void> {
  await fs.mkdir(outDir, {recursive: true})
  const files = resultFiles(results.options.label)
  await fs.writeFile(path.join(outDir, files.json), JSON.stringify(results, null, 2) + '\n')
  await fs.writeFile(path.join(outDir, files.markdown), renderMarkdown(results))
}
