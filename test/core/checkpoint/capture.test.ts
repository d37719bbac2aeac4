// Capture fidelity: what a take reads must be a file's content at one instant, and what it cannot
// capture or restore (links out of the state, over-long paths, non-UTF-8 names) fails the take naming the file.
import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {writeTaskCopies} from '../../../src/core/checkpoint/write-task.js'
import {tempDir} from '../../helpers/primaries.js'

async function take(dir: string, state: string, checkpointId = 'chk-1') {
  const store = new FileStore(path.join(dir, 'primary'))
  return writeTaskCopies({primary: store, job: 'j', checkpointId, taskId: 't', sourceDir: state})
}

// Rewrites the file in place from its start, again and again, with N copies of one byte value (1-250), in 16 KiB writes.
const WRITER = `
const fs = require('node:fs')
const [file, size] = [process.argv[1], Number(process.argv[2])]
const fd = fs.openSync(file, 'r+')
const chunk = Buffer.alloc(16384)
for (let round = 1; ; round++) {
  chunk.fill(round % 250 + 1)
  for (let at = 0; at < size; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - at), at)
  if (round === 1) process.stdout.write('writing\\n')
}
`

/**
 * Whether the writer's file ever held these bytes: it rewrites from the start, so at any instant
 * the file is one value, or a rewrite in progress: that value up to some point, its predecessor after.
 */
function wasContent(bytes: Buffer): boolean {
  const first = bytes[0]
  const before = first === 1 ? 250 : first - 1
  const switchAt = bytes.findIndex((b) => b !== first)
  return switchAt < 0 || bytes.subarray(switchAt).every((b) => b === before)
}

describe('capture', () => {
  for (const size of [96 << 10, 3 << 20]) {
    it(`never commits a torn file rewritten in place with the same size (${size >> 10} KiB)`, async () => {
      const {dir, cleanup} = await tempDir()
      const state = path.join(dir, 'state')
      await fs.mkdir(state)
      const file = path.join(state, 'db.bin')
      await fs.writeFile(file, Buffer.alloc(size, 1))
      const writer = spawn(process.execPath, ['-e', WRITER, file, String(size)], {stdio: ['ignore', 'pipe', 'inherit']})
      try {
        await new Promise((resolve) => writer.stdout.once('data', resolve))
        let failed = 0
        for (let i = 1; i <= 8; i++) {
          try {
            const {record} = await take(dir, state, `chk-${i}`)
            const archive = await fs.readFile(path.join(dir, 'primary', record.archive))
            const index = JSON.parse(await fs.readFile(path.join(dir, 'primary', record.index), 'utf8'))
            const entry = index.entries.find((e: any) => e.path === 'db.bin')
            const bytes = archive.subarray(entry.offset, entry.offset + entry.size)
            assert.ok(wasContent(bytes), `take ${i} committed a torn db.bin holding byte values ${[...new Set(bytes)].join(', ')}`)
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error
            assert.match((error as Error).message, /task t: db\.bin changed while it was captured.*pause the task or give it a snapshot command/)
            failed++
          }
        }
        assert.ok(failed > 0, 'the writer never disturbed a take: the test proves nothing')
      } finally {
        writer.kill('SIGKILL')
        await cleanup()
      }
    })
  }

  it('takes the files of a state whose writer stopped', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await fs.mkdir(state)
      await fs.writeFile(path.join(state, 'db.bin'), Buffer.alloc(3 << 20, 9))
      await fs.writeFile(path.join(state, 'small.bin'), Buffer.alloc(5000, 9))
      await new Promise((resolve) => setTimeout(resolve, 50))
      const {record} = await take(dir, state)
      assert.equal(record.files, 2)
    } finally {
      await cleanup()
    }
  })

  it('commits a file written just before the take (checked again once its change time is in the past)', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await fs.mkdir(state)
      await fs.writeFile(path.join(state, 'fresh.bin'), Buffer.alloc(1 << 20, 7))
      await fs.writeFile(path.join(state, 'small.txt'), 'fresh')
      const {record} = await take(dir, state)
      assert.equal(record.files, 2)
    } finally {
      await cleanup()
    }
  })

  const refusedLinks: [string, Record<string, string>, RegExp][] = [
    ['an absolute link', {abs: '/etc/passwd'}, /task t: symlink abs points to the absolute path "\/etc\/passwd".*remove or make it relative/],
    ['a link out of the state', {'sub/out': '../../outside'}, /task t: symlink sub\/out points outside the state folder \("\.\.\/\.\.\/outside"\).*remove or make it relative/],
    ['a link out through a link to "." of the same state', {'sub/d': '.', 'sub/esc': 'd/../../x'}, /task t: symlink sub\/esc points outside the state folder \("d\/\.\.\/\.\.\/x"\)/],
    ['a link loop', {'sub/a': 'b', 'sub/b': 'a/c'}, /task t: symlink sub\/\w points in a loop/],
  ]
  for (const [what, links, message] of refusedLinks) {
    it(`refuses ${what}, naming it, and writes nothing`, async () => {
      const {dir, cleanup} = await tempDir()
      try {
        const state = path.join(dir, 'state')
        await fs.mkdir(path.join(state, 'sub'), {recursive: true})
        await fs.writeFile(path.join(state, 'x'), 'x')
        for (const [link, target] of Object.entries(links)) await fs.symlink(target, path.join(state, link))
        await assert.rejects(take(dir, state), message)
        assert.deepEqual(await fs.readdir(path.join(dir, 'primary')).catch(() => []), [])
      } finally {
        await cleanup()
      }
    })
  }

  it('keeps relative links that stay inside, through other links of the state too', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await fs.mkdir(path.join(state, 'sub', 'deep'), {recursive: true})
      await fs.writeFile(path.join(state, 'x'), 'x')
      await fs.symlink('.', path.join(state, 'sub', 'd'))
      await fs.symlink('d/../x', path.join(state, 'sub', 'up'))
      await fs.symlink('../sub/deep/../../x', path.join(state, 'sub', 'deep', 'back'))
      await fs.symlink('missing/target', path.join(state, 'dangling'))
      const {record} = await take(dir, state)
      assert.equal(record.files, 1)
    } finally {
      await cleanup()
    }
  })

  it('names the file whose path is longer than the system allows, not the state folder', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await fs.mkdir(state)
      const part = 'p'.repeat(200)
      // Relative mkdir and cd: each step is short, the whole path passes PATH_MAX (4096).
      const deepen = `process.chdir(process.argv[1]); for (let i = 0; i < 25; i++) { require('fs').mkdirSync('${part}'); process.chdir('${part}') }`
      execFileSync(process.execPath, ['-e', deepen, state])
      await assert.rejects(take(dir, state), (error: Error) => {
        assert.match(error.message, /task t: cannot capture p{80}…[p/]{80}: its path is longer than the system allows \(ENAMETOOLONG\)/)
        assert.ok(!error.message.includes(`cannot read ${state}`), error.message)
        return true
      })
    } finally {
      execFileSync('rm', ['-rf', dir])
      await cleanup()
    }
  })

  it('refuses a file name that is not valid UTF-8, showing it escaped', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await fs.mkdir(path.join(state, 'sub'), {recursive: true})
      await fs.writeFile(path.join(state, 'sub', 'ok-ünïcode.txt'), 'fine')
      const bad = Buffer.concat([Buffer.from(path.join(state, 'sub', 'bad-')), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')])
      await fs.writeFile(bad, 'latin-1 name')
      await assert.rejects(take(dir, state), /task t: cannot capture sub\/bad-\\xff\\xfe\.txt: its name is not valid UTF-8.*rename it/)
    } finally {
      await cleanup()
    }
  })
})
