// A smoke run of the bench code at tiny sizes, so `npm run bench` does not rot. Peers (rclone,
// restic) are used when installed; otherwise their rows must say "not run" and why.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runBench} from '../../bench/lib/bench.js'
import {CASES, defaultOptions, parseOptions, repoRoot} from '../../bench/lib/options.js'
import type {BenchResults} from '../../bench/lib/report.js'
import {fitLinear, median} from '../../bench/lib/stats.js'
import {makeTree, pickFiles, rewriteFiles, rewriteRegions} from '../../bench/lib/data.js'
import {changeFeed} from '../../bench/cases/incremental-lib.js'

describe('bench', () => {
  let dir: string
  before(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'ckpt-bench-smoke-'))
  })
  after(async () => {
    await fs.rm(dir, {recursive: true, force: true})
  })

  it('computes medians and growth fits', () => {
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median([4, 1, 3, 2]), 2.5)
    const fit = fitLinear([1000, 10_000, 100_000], [1100, 2000, 11_000])
    assert.ok(Math.abs(fit.slope - 0.1) < 0.001, `slope ${fit.slope}`)
    assert.ok(Math.abs(fit.lastExponent - Math.log(5.5) / Math.log(10)) < 1e-9)
    assert.ok(Math.abs(fit.marginalExponent - 1) < 1e-9, `marginal exponent ${fit.marginalExponent}`)
    assert.ok(fitLinear([1, 10, 100], [1, 100, 10_000]).marginalExponent > 1.9)
    // Growth at the middle point within the spread of the samples is noise: no marginal exponent.
    assert.ok(fitLinear([10, 100, 1000], [171, 180, 321]).marginalExponent > 1.15)
    assert.ok(Number.isNaN(fitLinear([10, 100, 1000], [171, 180, 321], [13, 39, 33]).marginalExponent))
  })

  it('reads sizes and cases from flags and the environment', () => {
    const o = parseOptions(['--size', '64MiB', '--cases=local,startup', '--growth-files', '100,10'], {CKPT_BENCH_PAIRS: '5'})
    assert.equal(o.size, 64 * 1024 ** 2)
    assert.equal(o.pairs, 5)
    assert.deepEqual(o.cases, ['local', 'startup'])
    assert.deepEqual(o.growthFiles, [10, 100])
    assert.throws(() => parseOptions(['--cases', 'nope']), /unknown case nope/)
    assert.deepEqual(o.networks, ['same-machine', 'cloud'])
    assert.deepEqual(parseOptions(['--network', 'wan']).networks, ['wan'])
    assert.deepEqual(parseOptions(['--network', 'lan,500Mbit/10ms,100Mbit/40ms/20Mbit']).networks, ['lan', '500Mbit/10ms', '100Mbit/40ms/20Mbit'])
    assert.throws(() => parseOptions(['--network', 'moon']), /network moon: use same-machine, lan, cloud, wan/)
    assert.equal(defaultOptions().pairs >= 3, true)
  })

  it('format-2 cases: --incr-* sizes, one change per side and round, files and regions rewritten in place', async () => {
    const o = parseOptions(['--incr-size', '8MiB', '--incr-files', '50', '--incr-takes', '3'], {CKPT_BENCH_INCR_FILE_SIZE: '32MiB'})
    assert.deepEqual([o.incrSize, o.incrFiles, o.incrTakes, o.incrFileSize], [8 << 20, 50, 3, 32 << 20])
    assert.deepEqual([defaultOptions().incrSize, defaultOptions().incrFiles, defaultOptions().incrManyFiles], [1024 ** 3, 1000, 100_000])
    // Whatever order the sides run in, each sees exactly one new change per round.
    let made = 0
    const feed = changeFeed(async (r) => ({files: [`change-${r}`], bytes: ++made}))
    const seen: string[] = []
    for (const order of [
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'b'],
    ])
      for (const side of order) seen.push(`${side}:${(await feed(side)).files[0]}`)
    assert.deepEqual(seen, ['a:change-1', 'b:change-1', 'b:change-2', 'a:change-2', 'a:change-3', 'b:change-3'])
    const tree = await makeTree(path.join(dir, 'incr-data'), {files: 200, bytes: 200 * 8192, seed: 'unit'})
    const before = await Promise.all(pickFiles(tree, 2, 1).map(async (f) => [await fs.stat(f), await fs.readFile(f)] as const))
    const change = await rewriteFiles(tree, 2, 1)
    assert.deepEqual([change.files.length, change.bytes], [2, 2 * 8192])
    assert.notDeepEqual(pickFiles(tree, 2, 1), pickFiles(tree, 2, 2), 'rounds rewrite different files')
    for (const [i, f] of change.files.entries()) {
      const st = await fs.stat(f)
      assert.deepEqual([st.ino, st.size], [before[i][0].ino, before[i][0].size], `${f}: rewritten in place`)
      assert.notDeepEqual(await fs.readFile(f), before[i][1])
    }
    const big = await makeTree(path.join(dir, 'incr-big'), {files: 1, bytes: 16 << 20, seed: 'unit-big'})
    const file = path.join(big.dir, 'd0000', 'f000000.bin')
    const old = await fs.readFile(file)
    assert.deepEqual(await rewriteRegions(file, 10, 1 << 20, 1), {files: [file], bytes: 10 << 20})
    const now = await fs.readFile(file)
    assert.equal(now.length, old.length)
    let differing = 0
    for (let off = 0; off < old.length; off += 4096) if (!old.subarray(off, off + 4096).equals(now.subarray(off, off + 4096))) differing++
    assert.equal(differing, (10 << 20) / 4096, 'exactly ten 1 MiB regions differ')
  })

  it('runs every case at tiny sizes and writes results.json and RESULTS.md', {timeout: 600_000}, async () => {
    const results: BenchResults = await runBench({...parseOptions(['--smoke']), outDir: path.join(dir, 'out'), workParent: dir})
    const onDisk = JSON.parse(await fs.readFile(path.join(dir, 'out', 'results.json'), 'utf8')) as BenchResults
    const markdown = await fs.readFile(path.join(dir, 'out', 'RESULTS.md'), 'utf8')
    // The Azurite cases run once per link: same machine, then the cloud profile.
    assert.deepEqual(
      onDisk.cases.map((c) => c.id),
      CASES.flatMap((c) => (c.startsWith('azure-') ? [c, c] : [c])),
    )
    assert.deepEqual(
      onDisk.cases.filter((c) => c.id.startsWith('azure-')).map((c) => c.network),
      ['same-machine', 'cloud', 'same-machine', 'cloud'],
    )
    assert.ok(markdown.includes('## Azurite cases by network') && markdown.includes('cloud (1 Gbit/s each way, 2 ms round trip)'))
    for (const c of onDisk.cases.filter((c) => c.network === 'cloud')) assert.match(c.notes.join(' '), /Over the link.*ckpt.*connections?, [\d.]+ [kM]B down/, `${c.id}: no traffic through the link`)
    assert.ok(onDisk.machine.nproc >= 1 && onDisk.machine.memoryGiB > 0 && onDisk.machine.cpuModel !== '')
    assert.match(onDisk.versions.node, /^v\d+/)
    for (const c of results.cases) {
      assert.equal(c.error, undefined, `case ${c.id} failed: ${c.error}`)
      assert.ok(c.measurements.length > 0, `case ${c.id} has no measurements`)
      assert.ok(c.targets.length > 0, `case ${c.id} has no targets`)
      assert.ok(markdown.includes(`## ${c.title}`), `RESULTS.md lacks ${c.title}`)
      for (const m of c.measurements) {
        if (m.notRun) {
          // Only a missing peer may be left out, and it must say so, here and in RESULTS.md.
          const peer = /^(rclone|restic) /.exec(m.notRun)?.[1]
          assert.ok(peer, `${c.id}/${m.id} not run for a reason other than a missing peer: ${m.notRun}`)
          assert.match(results.versions[peer], /not installed/)
          assert.ok(markdown.includes(`| ${m.label} | peer not run |`))
          continue
        }
        assert.ok(m.samplesMs.length >= 1, `${c.id}/${m.id} has no samples`)
        assert.ok(typeof m.medianMs === 'number' && m.medianMs > 0, `${c.id}/${m.id} median ${m.medianMs}`)
        if (m.command.startsWith('ckpt ')) assert.ok((m.maxRssMiB ?? 0) > 10, `${c.id}/${m.id} has no peak RSS`)
      }
      for (const t of c.targets) {
        if (t.met === null)
          assert.match(
            t.notJudged ?? '',
            c.network === 'same-machine' ? /same machine, for comparison|(rclone|restic) is not installed/ : /(rclone|restic) is not installed/,
            `${c.id}: ${t.name} not judged`,
          )
        else assert.equal(typeof t.value, 'number', `${c.id}: ${t.name}`)
      }
    }
    assert.doesNotMatch(JSON.stringify(onDisk), /sig=|AccountKey=[A-Za-z0-9]/, 'a SAS token or account key leaked into the results')
    // The format-2 cases judge every ckpt command's peak memory, and the take its uploaded bytes.
    for (const c of onDisk.cases.filter((c) => c.id.startsWith('incr-')))
      assert.ok(
        c.targets.some((t) => t.name.startsWith('peak RSS: ckpt')),
        `${c.id}: no peak RSS target`,
      )
    const take = onDisk.cases.find((c) => c.id === 'incr-take')!
    assert.deepEqual(
      take.targets.filter((t) => !t.name.startsWith('peak RSS')).map((t) => t.name.replace(/:.*/, '')),
      ['incremental take vs full take', 'incremental take vs restic backup of the same change', '1% of the files rewritten', '1% of the files rewritten'],
    )
  })

  it('compares this build with a baseline checkout side by side: --baseline', {timeout: 600_000}, async () => {
    const o = parseOptions(['--baseline', repoRoot, '--smoke', '--cases', 'startup,local,file-store,memory'])
    assert.deepEqual([o.baseline, o.baselineCli, o.label], [repoRoot, path.join(repoRoot, 'bin', 'run.js'), 'baseline'])
    await assert.rejects(runBench({...o, baseline: dir, outDir: path.join(dir, 'nothing'), workParent: dir}), /--baseline .*: no dist\/index.js there; run npm run build/)
    const results = await runBench({...o, outDir: path.join(dir, 'baseline'), workParent: dir})
    assert.deepEqual(
      results.cases.map((c) => c.id),
      ['startup', 'local', 'file-store'],
      'memory compares no builds: not run',
    )
    assert.ok(await fs.stat(path.join(dir, 'baseline', 'RESULTS-baseline.md')))
    for (const c of results.cases) {
      assert.equal(c.error, undefined, `case ${c.id} failed: ${c.error}`)
      const ids = c.measurements.map((m) => m.id)
      for (const id of ids.filter((i) => i.endsWith('-new'))) assert.ok(ids.includes(id.replace(/-new$/, '-base')), `${c.id}: ${id} has no base side`)
      for (const t of c.targets) {
        assert.match(t.name, /: new vs base$/)
        assert.equal(typeof t.value, 'number', `${c.id}: ${t.name}`)
        assert.match(t.measured, /^[\d.]+× \([\d.]+ vs [\d.]+ ms\)(; CPU [\d.]+× \([\d.]+ vs [\d.]+ s\))?$/, 'CPU times when /usr/bin/time is there')
      }
    }
    assert.deepEqual(
      results.cases.flatMap((c) => c.targets.map((t) => t.name)),
      [
        'start-up: ckpt --version: new vs base',
        'start-up: ckpt checkpoint list --json: new vs base',
        'local restore: new vs base',
        'file-store take: new vs base',
        'file-store restore from the primary: new vs base',
      ],
    )
  })
})
