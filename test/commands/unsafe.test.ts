// Safe extraction: a checkpoint whose archive and index hold ../x, /abs, or a symlink to /etc
// with a file through it cannot serve (it is the only one here, so exit 4) and nothing is written
// outside the target.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import * as tar from 'tar'
import {runCli} from '../helpers/cli.js'
import {exists, fingerprint, writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

interface Crafted {
  path: string
  type: 'file' | 'dir' | 'symlink'
  body?: string
  target?: string
}

/** Writes chk-1 by hand: a tar made by node-tar with the entries as given, its index and a manifest. */
async function craftCheckpoint(dir: string, entries: Crafted[]): Promise<void> {
  const primary = path.join(dir, '.ckpt', 'primary', 'testjob')
  const src = path.join(dir, 'craft')
  await fs.mkdir(src, {recursive: true})
  const archive = path.join(primary, 'data', 'chk-1', 'alpha.tar')
  await fs.mkdir(path.dirname(archive), {recursive: true})
  // node-tar writes what it is given with preservePaths; the bytes then sit at offsets we read back.
  const files: string[] = []
  for (const [i, e] of entries.entries()) {
    if (e.type === 'file') {
      await fs.writeFile(path.join(src, `f${i}`), e.body ?? '')
      files.push(`f${i}`)
    }
  }
  await tar.c({file: archive, cwd: src, portable: true}, files)
  const tarBytes = await fs.readFile(archive)
  const index = {
    format: 1,
    taskId: 'alpha',
    entries: entries.map((e) => {
      const body = Buffer.from(e.body ?? '')
      const offset = e.type === 'file' ? tarBytes.indexOf(body) : undefined
      return {
        path: e.path,
        type: e.type,
        mode: 0o644,
        size: e.type === 'file' ? body.length : 0,
        mtimeMs: Date.now(),
        ...(e.type === 'file' ? {sha256: sha(body), offset} : {}),
        ...(e.target ? {target: e.target} : {}),
      }
    }),
  }
  const indexBytes = Buffer.from(JSON.stringify(index))
  await fs.writeFile(path.join(primary, 'data', 'chk-1', 'alpha.index.json'), indexBytes)
  await fs.mkdir(path.join(primary, 'manifests'), {recursive: true})
  await fs.mkdir(path.join(primary, 'claims'), {recursive: true})
  await fs.writeFile(path.join(primary, 'claims', 'chk-1.json'), '{}')
  const manifest = {
    format: 1,
    job: 'testjob',
    checkpointId: 'chk-1',
    createdAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    node: 'x',
    tasks: [
      {
        taskId: 'alpha',
        archive: 'testjob/data/chk-1/alpha.tar',
        archiveSize: tarBytes.length,
        archiveSha256: sha(tarBytes),
        index: 'testjob/data/chk-1/alpha.index.json',
        indexSize: indexBytes.length,
        indexSha256: sha(indexBytes),
        files: 1,
        bytes: 1,
      },
    ],
  }
  await fs.writeFile(path.join(primary, 'manifests', 'chk-1.json'), JSON.stringify(manifest))
}

const cases: Array<{name: string; entries: Crafted[]; message: RegExp; outside: string[]}> = [
  {name: 'a path with ..', entries: [{path: '../x', type: 'file', body: 'escaped-dotdot'}], message: /leaves the target folder/, outside: ['state/x']},
  {name: 'a nested path with ..', entries: [{path: 'a/../../y', type: 'file', body: 'escaped-nested'}], message: /leaves the target folder/, outside: ['state/y']},
  {name: 'an absolute path', entries: [{path: '/tmp/ckpt-abs-escape', type: 'file', body: 'escaped-absolute'}], message: /absolute path/, outside: ['/tmp/ckpt-abs-escape']},
  {
    name: 'a symlink to /etc followed by a file through it',
    entries: [
      {path: 'etc', type: 'symlink', target: '/etc'},
      {path: 'etc/ckpt-escape', type: 'file', body: 'escaped-through-link'},
    ],
    message: /points to absolute path|lies below symlink/,
    outside: ['/etc/ckpt-escape'],
  },
  {
    name: 'a relative symlink out of the target followed by a file through it',
    entries: [
      {path: 'up', type: 'symlink', target: '../..'},
      {path: 'up/ckpt-escape', type: 'file', body: 'escaped-up'},
    ],
    message: /points outside the target folder|lies below symlink/,
    outside: ['ckpt-escape'],
  },
  {
    name: 'a device file',
    entries: [
      {path: 'ok.txt', type: 'file', body: 'fine'},
      {path: 'dev', type: 'chardev' as any},
    ],
    message: /only files, folders and symlinks/,
    outside: [],
  },
]

describe('safe extraction', () => {
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const {dir, cleanup} = await tempDir()
      try {
        await writeJob(dir, {tasks: [{id: 'alpha'}]})
        await fs.writeFile(path.join(dir, 'state', 'alpha', 'keep.txt'), 'current state')
        const before = await fingerprint(path.join(dir, 'state'))
        await craftCheckpoint(dir, c.entries)
        for (const args of [
          ['restore', '--json'],
          ['restore', '--plan', '--json'],
        ]) {
          const restore = await runCli(args, {cwd: dir})
          assert.equal(restore.code, 4, restore.stdout + restore.stderr)
          assert.match(restore.json.error.message, c.message)
        }
        for (const p of c.outside) assert.equal(await exists(path.isAbsolute(p) ? p : path.join(dir, p)), false, `${p} was not written`)
        assert.deepEqual(await fingerprint(path.join(dir, 'state')), before, 'the current state is untouched')
      } finally {
        await cleanup()
      }
    })
  }
})
