import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {removeTree} from '../../../src/core/util/remove-tree.js'
import {tempDir} from '../../helpers/primaries.js'

const exists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  )

describe('removeTree', () => {
  it('removes a deep tree of many files, read-only folders too, and leaves what links point at', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const outside = path.join(dir, 'outside')
      await fs.mkdir(outside)
      await fs.writeFile(path.join(outside, 'keep.txt'), 'keep')
      const tree = path.join(dir, 'tree')
      for (let a = 0; a < 5; a++) {
        for (let b = 0; b < 4; b++) {
          const folder = path.join(tree, `a${a}`, `b${b}`, 'c')
          await fs.mkdir(folder, {recursive: true})
          for (let f = 0; f < 20; f++) await fs.writeFile(path.join(folder, `f${f}`), `${a}${b}${f}`)
        }
      }
      await fs.mkdir(path.join(tree, 'empty'))
      await fs.symlink(outside, path.join(tree, 'a0', 'link-to-outside'))
      await fs.symlink('missing-target', path.join(tree, 'dangling'))
      await fs.chmod(path.join(tree, 'a1', 'b1', 'c'), 0o555)
      await fs.chmod(path.join(tree, 'a2'), 0o555)

      await removeTree(tree)

      assert.equal(await exists(tree), false)
      assert.equal(await fs.readFile(path.join(outside, 'keep.txt'), 'utf8'), 'keep')
    } finally {
      await cleanup()
    }
  })

  it('removes a single file, and a missing path is not an error', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const file = path.join(dir, 'file')
      await fs.writeFile(file, 'x')
      await removeTree(file)
      assert.equal(await exists(file), false)
      await removeTree(path.join(dir, 'never-was'))
      await removeTree(path.join(dir, 'never-was', 'below'))
    } finally {
      await cleanup()
    }
  })

  it('unlinks a link given as the root and leaves the folder it points to whole', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const target = path.join(dir, 'target')
      await fs.mkdir(path.join(target, 'sub'), {recursive: true})
      await fs.writeFile(path.join(target, 'sub', 'keep.txt'), 'keep')
      const link = path.join(dir, 'link')
      await fs.symlink(target, link)
      await removeTree(link)
      assert.equal(await exists(link), false, 'the link is gone')
      assert.equal(await fs.readFile(path.join(target, 'sub', 'keep.txt'), 'utf8'), 'keep', 'nothing behind the link was removed')
    } finally {
      await cleanup()
    }
  })
})
