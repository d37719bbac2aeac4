// Peak RSS and time of take, local-first restore and remote restore of many small files (issue 11
// item 30: at most 200 MiB at 200,000 files), running the built CLI under /usr/bin/time -v.
// Usage: node scripts/memory-many-files.mjs [files=200000] [bytes=1024] [work=/tmp/ckpt-memory] [phases=take,local,remote,check]
// The state is made once and kept in WORK; a phase list without `take` reuses the last checkpoint.
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const files = Number(process.argv[2] ?? 200_000)
const bytes = Number(process.argv[3] ?? 1024)
const work = process.argv[4] ?? '/tmp/ckpt-memory'
const phases = (process.argv[5] ?? 'take,local,remote,check').split(',')
const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js')
const source = path.join(work, 'source')
const target = path.join(work, 'state', 't0')
const job = path.join(work, 'ckpt.json')

if (!fs.existsSync(path.join(work, 'made'))) {
  fs.rmSync(work, {recursive: true, force: true})
  for (let i = 0; i < files; i++) {
    const dir = path.join(source, `d${String(Math.floor(i / 100)).padStart(4, '0')}`)
    if (i % 100 === 0) fs.mkdirSync(dir, {recursive: true})
    fs.writeFileSync(path.join(dir, `f${String(i).padStart(6, '0')}.bin`), randomBytes(bytes))
  }
  fs.writeFileSync(path.join(work, 'made'), '')
}

function run(label, stateDir, args) {
  fs.writeFileSync(job, JSON.stringify({job: 'memory', primary: 'primary', localRoots: ['local'], tasks: [{id: 't0', stateDir}]}))
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, bin, ...args, '-j', job, '--json'], {cwd: work, encoding: 'utf8', env: {...process.env, CKPT_NODE: 'memory'}})
  if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`)
  const kib = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)[1])
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(r.stderr)[1]
  console.log(`${label.padEnd(28)} ${(kib / 1024).toFixed(0).padStart(5)} MiB peak RSS  ${wall} wall`)
}

const clear = () => fs.rmSync(path.join(work, 'state'), {recursive: true, force: true})
for (const phase of phases) {
  if (phase === 'take') {
    for (const dir of ['primary', 'local']) fs.rmSync(path.join(work, dir), {recursive: true, force: true})
    run(`take, ${files} files`, 'source', ['checkpoint', 'take'])
  } else if (phase === 'local') {
    clear()
    run('restore (local first)', 'state/t0', ['restore'])
  } else if (phase === 'remote') {
    clear()
    run('restore --prefer remote', 'state/t0', ['restore', '--prefer', 'remote'])
  } else if (phase === 'check') {
    execFileSync('diff', ['-r', '-q', target, source])
    console.log('restored tree matches the source')
  }
}
