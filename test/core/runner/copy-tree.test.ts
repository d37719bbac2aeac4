// The scratch copy a paused capture makes reads like the original: modes, times and owners.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {copyTree} from '../../../src/core/runner/copy-tree.js'
import {tempDir} from '../../helpers/primaries.js'

describe('scratch copy of a state folder', () => {
  it('keeps the owners of the folder, its files, folders and symlinks, and set-id bits', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const from = path.join(dir, 'state')
      await fs.mkdir(path.join(from, 'sub'), {recursive: true})
      await fs.writeFile(path.join(from, 'sub', 'tool'), '#!/bin/sh\n')
      await fs.symlink('sub/tool', path.join(from, 'link'))
      const owners: Record<string, [number, number]> = {'': [1401, 1501], sub: [1402, 1502], 'sub/tool': [1403, 1503], link: [1404, 1504]}
      for (const [rel, [uid, gid]] of Object.entries(owners)) await fs.lchown(path.join(from, rel), uid, gid)
      await fs.chmod(path.join(from, 'sub', 'tool'), 0o6755)
      await fs.chmod(from, 0o700)
      const to = path.join(dir, 'copy')
      await (await copyTree(from, to)).finish()
      for (const [rel, want] of Object.entries(owners)) {
        const st = await fs.lstat(path.join(to, rel))
        assert.deepEqual([st.uid, st.gid], want, rel || 'the state folder')
      }
      assert.equal((await fs.stat(path.join(to, 'sub', 'tool'))).mode & 0o7777, 0o6755, 'chown did not cost the set-id bits')
      assert.equal((await fs.stat(to)).mode & 0o7777, 0o700)
    } finally {
      await cleanup()
    }
  })
})
