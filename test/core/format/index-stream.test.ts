import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {scanTree} from '../../../src/core/archive/tree.js'
import {scanStateRoot} from '../../../src/core/archive/owners.js'
import {IndexBody, IndexParser, indexChunks, parseIndexJson} from '../../../src/core/format/index-stream.js'
import {parseIndex, sha256, type Manifest, type TaskIndex, type TaskRecord} from '../../../src/core/format/manifest.js'
import {readIndex} from '../../../src/core/catalogue/read.js'
import {ManifestError} from '../../../src/core/errors.js'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {tempDir} from '../../helpers/primaries.js'

/** A scanned state as a take fills it in: files get a digest and an offset, large ones in the other order. */
async function scannedIndex(dir: string): Promise<TaskIndex> {
  await fs.mkdir(path.join(dir, 'db', 'ünïcode "quoted"'), {recursive: true})
  for (let i = 0; i < 40; i++) await fs.writeFile(path.join(dir, 'db', `f${i}`), 'x'.repeat(i))
  await fs.writeFile(path.join(dir, 'db', 'ünïcode "quoted"', 'naïve\\name.txt'), 'y')
  await fs.writeFile(path.join(dir, 'db', 'unscanned'), '')
  await fs.symlink('db', path.join(dir, 'current'))
  const entries = await scanTree(dir, 'test')
  let offset = 512
  for (const [i, entry] of entries.entries()) {
    if (entry.type !== 'file' || entry.path.endsWith('unscanned')) continue
    if (i % 2) {
      entry.offset = offset
      entry.sha256 = sha256(entry.path)
    } else {
      entry.sha256 = sha256(entry.path)
      entry.offset = offset
    }
    offset += 1024
  }
  return {format: 1, taskId: 'task-0', root: await scanStateRoot(dir), entries}
}

describe('streamed task index', () => {
  it('gives the bytes JSON.stringify gives, in chunks of any size', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const index = await scannedIndex(dir)
      const whole = Buffer.from(JSON.stringify(index))
      for (const chunkChars of [1, 100, 1000, 64 << 10]) {
        const chunks = [...indexChunks(index, chunkChars)]
        assert.deepEqual(Buffer.concat(chunks), whole, `chunks of ${chunkChars}`)
        if (chunkChars === 100) assert.ok(chunks.length > 10)
      }
      assert.deepEqual(Buffer.concat([...indexChunks({format: 1, taskId: 'empty', entries: []})]), Buffer.from(JSON.stringify({format: 1, taskId: 'empty', entries: []})))
      // What stays undefined (a file never read) is left out, as JSON.stringify leaves it out.
      assert.ok(!whole.includes('undefined') && !whole.includes('null'))
    } finally {
      await cleanup()
    }
  })

  it('counts and hashes what it streams, so the manifest record matches and the index parses back', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const index = await scannedIndex(dir)
      const body = new IndexBody(index)
      const received: Buffer[] = []
      for await (const chunk of body.stream()) received.push(chunk as Buffer)
      const bytes = Buffer.concat(received)
      assert.equal(body.size, bytes.length)
      const record = {taskId: 'task-0', indexSize: body.size, indexSha256: body.sha256()} as TaskRecord
      assert.equal(record.indexSha256, sha256(bytes))
      assert.deepEqual(parseIndex(bytes, record, 'test'), JSON.parse(JSON.stringify(index)))
    } finally {
      await cleanup()
    }
  })
})

/** `},{"` (where entries are parsed in batches) inside a name and inside an entry's own array of objects. */
const TRICKY = '{"format":1,"taskId":"t","entries":[{"path":"a},{\\"b"},{"path":"c","x":[{"y":1},{"z":2}]},{"path":"d"},{"path":"e","x":[{"y":"},{\\""},{"z":3}]}]}'

describe('parseIndexJson', () => {
  it('gives what JSON.parse gives, for the layout a take writes and for any other JSON', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const index = await scannedIndex(path.join(dir, 'state'))
      const written = Buffer.concat([...indexChunks(index, 100)])
      assert.deepEqual(parseIndexJson(written), JSON.parse(written.toString('utf8')))
      const others = [
        '{"format":1,"taskId":"t","entries":[]}',
        '{"format":1,"taskId":"t", "entries":[{"path":"a"}]}',
        '{"format":1,"entries":[{"path":"a}]\\"{"}],"taskId":"t"}',
        '{"format":1,"taskId":"t","entries":[{"path":"a","x":[{"y":"]"}]},{"path":"b"}]}',
        '{"format":1,"taskId":"t","entries":[{"path":"a"}],"entries":[{"path":"b"}]}',
        '{"format":1,"x":{"entries":[{"path":"a"}]},"entries":[{"path":"b"}]}',
        '{"format":1,"taskId":"t","entries":[{"path":"a"},{"path":"b"}]} ',
        TRICKY,
      ]
      for (const text of others) assert.deepEqual(parseIndexJson(Buffer.from(text)), JSON.parse(text), text)
      for (const bad of ['{"format":1,"entries":[{"path":"a"}', '{"format":1,"entries":[{"path":"a"},]}', '{"format":1,"entries":[{"path":"a"}]}x']) {
        assert.throws(() => parseIndexJson(Buffer.from(bad)), SyntaxError, bad)
      }
    } finally {
      await cleanup()
    }
  })
})

describe('IndexParser', () => {
  const streamed = (text: Buffer, size: number) => {
    const parser = new IndexParser()
    for (let i = 0; i < text.length; i += size) parser.push(text.subarray(i, i + size))
    return parser.end()
  }

  it('gives what JSON.parse gives for the layout a take writes, however the bytes are cut', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const written = Buffer.concat([...indexChunks(await scannedIndex(path.join(dir, 'state')), 100)])
      for (const size of [1, 2, 3, 7, 64, 1000, written.length]) assert.deepEqual(streamed(written, size), JSON.parse(written.toString('utf8')), `chunks of ${size}`)
      assert.deepEqual(streamed(Buffer.from('{"format":1,"taskId":"t","entries":[]}'), 1), {format: 1, taskId: 't', entries: []})
    } finally {
      await cleanup()
    }
  })

  it('gives up (undefined) on any other layout or broken JSON, never a wrong index', () => {
    const others = [
      '{"format":1,"taskId":"t", "entries":[{"path":"a"}]}',
      '{"format":1,"entries":[{"path":"a}]\\"{"}],"taskId":"t"}',
      '{"format":1,"taskId":"t","entries":[{"path":"a"}],"entries":[{"path":"b"}]}',
      '{"format":1,"taskId":"t","entries":[{"path":"a"},{"path":"b"}]} ',
      '{"format":1,"entries":[{"path":"a"}',
      '{"format":1,"entries":[{"path":"a"},]}',
      '{"format":1,"entries":[{"path":"a"}{"path":"b"}]}',
      '{"format":1,"entries":[,{"path":"a"}]}',
      '{"format":1,"entries":[{"path":"a"}]}x',
      '{"format":1,"entries":[{"path":a}]}',
    ]
    for (const text of others) for (const size of [1, 5, text.length]) assert.equal(streamed(Buffer.from(text), size), undefined, `${text} in chunks of ${size}`)
    const nested = '{"format":1,"taskId":"t","entries":[{"path":"a","x":[{"y":"]"}]},{"path":"b"}]}'
    for (const size of [1, 4, nested.length]) assert.deepEqual(streamed(Buffer.from(nested), size), JSON.parse(nested))
    for (const size of [1, 4, 20, TRICKY.length]) assert.deepEqual(streamed(Buffer.from(TRICKY), size), JSON.parse(TRICKY), `tricky in chunks of ${size}`)
  })
})

describe('readIndex', () => {
  it('parses an index as it streams from the store, any layout, and refuses one that does not match its record', async () => {
    const {dir, cleanup} = await tempDir()
    const store = new FileStore(path.join(dir, 'primary'))
    try {
      const index = await scannedIndex(path.join(dir, 'state'))
      for (const text of [Buffer.concat([...indexChunks(index)]), Buffer.from(JSON.stringify(index, null, 1))]) {
        await store.put('index.json', text)
        const record = {taskId: 'task-0', index: 'index.json', indexSize: text.length, indexSha256: sha256(text)} as TaskRecord
        assert.deepEqual(await readIndex(store, {checkpointId: 'chk-1'} as Manifest, record), JSON.parse(text.toString('utf8')))
        await assert.rejects(readIndex(store, {checkpointId: 'chk-1'} as Manifest, {...record, indexSha256: sha256('other')}), ManifestError)
        await assert.rejects(readIndex(store, {checkpointId: 'chk-1'} as Manifest, {...record, indexSize: text.length + 1}), ManifestError)
      }
    } finally {
      await store.close()
      await cleanup()
    }
  })
})
