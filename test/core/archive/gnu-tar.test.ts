// What tarHeader writes, GNU tar extracts exactly: long names and link targets, names that are not
// ASCII, times to the millisecond (before 1970 and after 2242 too), modes, owners, empty and sparse files.
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {Header} from 'tar/header'
import {Pax} from 'tar/pax'
import {padding, TAR_END, tarHeader, type TarEntry} from '../../../src/core/archive/tar.js'
import {tempDir} from '../../helpers/primaries.js'

const asRoot = process.getuid?.() === 0
const at = (iso: string) => Date.parse(iso)
const long = (prefix: string, bytes: number) => prefix + 'x'.repeat(bytes - prefix.length)

interface Case extends TarEntry {
  data?: Buffer
}

const deep = Array.from({length: 6}, (_, i) => long(`seg${i}-`, 40)).join('/')
const sparse = Buffer.alloc(3 << 20)
sparse.write('tail', sparse.length - 4)
sparse.write('head', 0)

const cases: Case[] = (
  [
    {path: 'short.txt', type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-02T03:04:05.000Z'), data: Buffer.from('short\n')},
    {path: 'empty', type: 'file', mode: 0o600, size: 0, mtimeMs: at('2026-01-02T03:04:06.007Z'), data: Buffer.alloc(0)},
    {path: long('exactly-100-', 100), type: 'file', mode: 0o640, size: 0, mtimeMs: at('2001-09-09T01:46:40.000Z'), data: Buffer.from('100')},
    {path: long('name-101-', 101), type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-02T03:04:07.999Z'), data: Buffer.from('101')},
    {path: long('p-', 120), type: 'dir', mode: 0o755, size: 0, mtimeMs: at('2026-01-02T00:00:00.000Z')},
    {path: `${long('p-', 120)}/${long('q-', 90)}`, type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-02T03:04:08.000Z'), data: Buffer.from('prefix and name')},
    {path: `${long('p-', 120)}/${long('r-', 150)}`, type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-02T03:04:09.000Z'), data: Buffer.from('a basename over 100')},
    ...deep.split('/').map((_, i, all): Case => ({path: all.slice(0, i + 1).join('/'), type: 'dir', mode: 0o750, size: 0, mtimeMs: at('2026-01-03T00:00:00.000Z')})),
    {path: `${deep}/deepest.bin`, type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-03T01:00:00.000Z'), data: Buffer.from('deep')},
    {path: 'ünïcödé', type: 'dir', mode: 0o1777, size: 0, mtimeMs: at('2026-01-04T00:00:00.000Z')},
    {path: 'ünïcödé/fïlé näme.txt', type: 'file', mode: 0o4755, size: 0, mtimeMs: at('2026-01-04T00:00:01.000Z'), data: Buffer.from('set-uid')},
    {path: 'moon.txt', type: 'file', mode: 0o444, size: 0, mtimeMs: at('1969-07-20T20:17:40.500Z'), data: Buffer.from('before 1970')},
    {path: 'whole-1960.txt', type: 'file', mode: 0o644, size: 0, mtimeMs: at('1960-01-01T00:00:00.000Z'), data: Buffer.from('whole seconds before 1970')},
    {path: 'far-future.txt', type: 'file', mode: 0o644, size: 0, mtimeMs: at('2300-01-01T00:00:00.250Z'), data: Buffer.from('after 2242')},
    {path: 'big-ids.txt', type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-05T00:00:00.000Z'), uid: 2_100_000, gid: 3_000_000, data: Buffer.from('owner ids over 7 octal digits')},
    {path: 'owned.txt', type: 'file', mode: 0o640, size: 0, mtimeMs: at('2026-01-05T00:00:01.000Z'), uid: 4242, gid: 4243, data: Buffer.from('owned')},
    {path: 'sparse.img', type: 'file', mode: 0o644, size: 0, mtimeMs: at('2026-01-05T00:00:02.000Z'), data: sparse},
    {path: 'link-long', type: 'symlink', mode: 0o777, size: 0, mtimeMs: at('2026-01-06T00:00:00.000Z'), target: `${long('p-', 120)}/${long('r-', 150)}`},
    {path: 'link-deep', type: 'symlink', mode: 0o777, size: 0, mtimeMs: at('2026-01-06T00:00:01.000Z'), target: `${deep}/deepest.bin`},
    {path: 'link-ünï', type: 'symlink', mode: 0o777, size: 0, mtimeMs: at('2026-01-06T00:00:02.000Z'), target: 'ünïcödé/fïlé näme.txt'},
  ] as Case[]
).map((c) => ({...c, size: c.data?.length ?? 0}))

/** An archive as ckpt lays one out: header(s), bytes, padding per entry; two zero blocks at the end. */
function archive(entries: Case[]): {bytes: Buffer; offsets: Map<string, number>} {
  const parts: Buffer[] = []
  const offsets = new Map<string, number>()
  let size = 0
  for (const entry of entries) {
    const head = tarHeader(entry)
    assert.equal(head.length % 512, 0, `${entry.path}: header blocks`)
    offsets.set(entry.path, size + head.length)
    const data = entry.data ?? Buffer.alloc(0)
    for (const part of [head, data, Buffer.alloc(padding(data.length))]) {
      parts.push(part)
      size += part.length
    }
  }
  parts.push(TAR_END)
  return {bytes: Buffer.concat(parts), offsets}
}

describe('tar headers', () => {
  it('are extracted by GNU tar to the same names, bytes, link targets, modes, owners and times', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const {bytes, offsets} = archive(cases)
      for (const c of cases.filter((c) => c.data)) assert.ok(bytes.subarray(offsets.get(c.path)!, offsets.get(c.path)! + c.size).equals(c.data!), `offset of ${c.path}`)
      await fs.writeFile(path.join(dir, 'a.tar'), bytes)
      await fs.mkdir(path.join(dir, 'out'))
      const gnu = spawnSync('tar', ['-xf', path.join(dir, 'a.tar'), '-C', path.join(dir, 'out'), '--numeric-owner', '--warning=no-timestamp'], {encoding: 'utf8'})
      assert.deepEqual([gnu.status, gnu.stderr], [0, ''], 'GNU tar extracts without a complaint')
      for (const c of cases) {
        const abs = path.join(dir, 'out', c.path)
        const st = await fs.lstat(abs)
        assert.equal(st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file', c.type, c.path)
        if (c.type === 'symlink') assert.equal(await fs.readlink(abs), c.target, c.path)
        else assert.equal((st.mode & 0o7777).toString(8), c.mode.toString(8), c.path)
        if (c.type === 'file') {
          assert.equal(st.size, c.size, c.path)
          assert.equal(
            createHash('sha256')
              .update(await fs.readFile(abs))
              .digest('hex'),
            createHash('sha256').update(c.data!).digest('hex'),
            c.path,
          )
        }
        // Rounded: a time goes through a double of seconds on its way to the file system.
        assert.equal(new Date(Math.round(st.mtimeMs)).toISOString(), new Date(c.mtimeMs).toISOString(), `mtime of ${c.path}`)
        if (asRoot) assert.deepEqual([st.uid, st.gid], [c.uid ?? 0, c.gid ?? 0], `owner of ${c.path}`)
      }
      const listed = execFileSync('tar', ['-tf', path.join(dir, 'a.tar')], {encoding: 'utf8'})
        .trim()
        .split('\n')
      assert.deepEqual(
        listed.map((p) => p.replace(/\/$/, '')),
        cases.map((c) => c.path),
      )
    } finally {
      await cleanup()
    }
  })

  it('carry a size over 8 GiB in a pax record that node-tar reads back', () => {
    const size = 9 * 2 ** 30 + 7
    const head = tarHeader({path: 'huge.bin', type: 'file', mode: 0o644, size, mtimeMs: at('2026-01-01T00:00:00.000Z')})
    const paxHeader = new Header(head, 0)
    assert.equal(paxHeader.type, 'ExtendedHeader')
    const pax = Pax.parse(head.subarray(512, 512 + paxHeader.size!).toString('utf8'))
    assert.equal(pax.size, size)
    const main = new Header(head, 512 * (1 + Math.ceil(paxHeader.size! / 512)), pax)
    assert.deepEqual([main.path, main.size, main.cksumValid], ['huge.bin', size, true])
  })

  it('write no pax header for an entry that ustar holds', () => {
    const head = tarHeader({path: 'db/data.sqlite', type: 'file', mode: 0o600, size: 8192, mtimeMs: at('2026-01-01T00:00:00.000Z'), uid: 101, gid: 104})
    assert.equal(head.length, 512)
    const header = new Header(head)
    assert.deepEqual(
      [header.path, header.type, header.mode, header.size, header.uid, header.gid, header.mtime?.toISOString(), header.cksumValid],
      ['db/data.sqlite', 'File', 0o600, 8192, 101, 104, '2026-01-01T00:00:00.000Z', true],
    )
  })
})
