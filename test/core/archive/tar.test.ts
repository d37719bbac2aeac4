// The primary copy is a plain tar: node-tar (an independent reader) must list and extract it.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import * as tar from 'tar'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {writeTaskCopies} from '../../../src/core/checkpoint/write-task.js'
import {fingerprint, makeTree} from '../../helpers/job.js'
import {tempDir} from '../../helpers/primaries.js'

describe('task archive', () => {
  it('is a tar that standard tools extract to the same tree, with offsets that point at each file', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await makeTree(state, {bigBytes: 3 << 20})
      const store = new FileStore(path.join(dir, 'primary'))
      const {record} = await writeTaskCopies({primary: store, job: 'j', checkpointId: 'chk-1', taskId: 't', sourceDir: state})
      const archive = path.join(dir, 'primary', 'j', 'data', 'chk-1', 't.tar')
      const bytes = await fs.readFile(archive)
      assert.equal(record.archiveSize, bytes.length)
      const out = path.join(dir, 'out')
      await fs.mkdir(out)
      await tar.x({file: archive, cwd: out, preservePaths: false})
      const expected = await fingerprint(state)
      const actual = await fingerprint(out)
      for (const [p, fp] of Object.entries(expected)) {
        assert.equal(actual[p]?.type, fp.type, p)
        if (fp.type === 'file') assert.equal(actual[p].sha256, fp.sha256, p)
        if (fp.type === 'symlink') assert.equal(actual[p].target, fp.target, p)
      }
      assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort())
      const index = JSON.parse(await fs.readFile(path.join(dir, 'primary', 'j', 'data', 'chk-1', 't.index.json'), 'utf8'))
      for (const entry of index.entries.filter((e: any) => e.type === 'file')) {
        const content = await fs.readFile(path.join(state, entry.path))
        assert.ok(bytes.subarray(entry.offset, entry.offset + entry.size).equals(content), `offset of ${entry.path}`)
      }
    } finally {
      await cleanup()
    }
  })
  it('keeps mtimes to the millisecond when GNU tar extracts it, dates before 1970 included', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const state = path.join(dir, 'state')
      await fs.mkdir(path.join(state, 'folder'), {recursive: true})
      const times: Record<string, number> = {
        'recent.txt': Date.UTC(2024, 4, 17, 10, 11, 12, 345),
        'whole-second.txt': Date.UTC(2020, 0, 1, 0, 0, 0, 0),
        '1965.txt': Date.UTC(1965, 6, 1, 12, 30, 15, 250),
        'folder/inner.txt': Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      }
      for (const [name, ms] of Object.entries(times)) {
        await fs.writeFile(path.join(state, name), name)
        await fs.utimes(path.join(state, name), new Date(ms), new Date(ms))
      }
      const folderMs = Date.UTC(1969, 11, 31, 23, 59, 58, 500)
      await fs.utimes(path.join(state, 'folder'), new Date(folderMs), new Date(folderMs))
      const store = new FileStore(path.join(dir, 'primary'))
      await writeTaskCopies({primary: store, job: 'j', checkpointId: 'chk-1', taskId: 't', sourceDir: state})
      const out = path.join(dir, 'out')
      await fs.mkdir(out)
      execFileSync('tar', ['-xf', path.join(dir, 'primary', 'j', 'data', 'chk-1', 't.tar'), '-C', out])
      for (const name of [...Object.keys(times), 'folder']) {
        // utimes goes through a double of seconds, so the source may lie a nanosecond below the millisecond.
        const ms = Math.floor((await fs.stat(path.join(state, name))).mtimeMs)
        const st = await fs.stat(path.join(out, name))
        assert.equal(Math.floor(st.mtimeMs), ms, `${name}: ${new Date(st.mtimeMs).toISOString()} instead of ${new Date(ms).toISOString()}`)
      }
    } finally {
      await cleanup()
    }
  })
})
