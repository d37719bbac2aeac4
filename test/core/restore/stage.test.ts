import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {cleanLeftovers} from '../../../src/core/restore/swap.js'
import {exists} from '../../helpers/job.js'
import {tempDir} from '../../helpers/primaries.js'

describe('restore leftovers', () => {
  it('removes the staging folders of a restore that is gone, and keeps those of a live one', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const stateDir = path.join(dir, 'alpha')
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!
      const dead = [`.alpha.ckpt-restore-${gone}-0000aaaa`, `.alpha.ckpt-old-${gone}-0000bbbb`, '.alpha.ckpt-restore-0000cccc']
      const live = `.alpha.ckpt-restore-${process.ppid}-0000dddd`
      const other = '.alphabet.ckpt-restore-1-0000eeee'
      for (const name of [...dead, live, other]) await fs.mkdir(path.join(dir, name, 'x'), {recursive: true})
      await cleanLeftovers(stateDir)
      for (const name of dead) assert.equal(await exists(path.join(dir, name)), false, name)
      assert.equal(await exists(path.join(dir, live)), true, 'a live restore keeps its staging folder')
      assert.equal(await exists(path.join(dir, other)), true, "another task's folders are not touched")
    } finally {
      await cleanup()
    }
  })

  it('never follows a link that has a leftover name: the folder it points to stays whole', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const stateDir = path.join(dir, 'alpha')
      await fs.mkdir(stateDir)
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!
      const precious = path.join(dir, 'precious')
      await fs.mkdir(path.join(precious, 'sub'), {recursive: true})
      await fs.writeFile(path.join(precious, 'sub', 'data.txt'), 'precious')
      for (const marker of ['ckpt-old', 'ckpt-restore']) await fs.symlink(precious, path.join(dir, `.alpha.${marker}-${gone}-0000abcd`))
      await cleanLeftovers(stateDir)
      assert.equal(await fs.readFile(path.join(precious, 'sub', 'data.txt'), 'utf8'), 'precious')
    } finally {
      await cleanup()
    }
  })

  it('puts the newest old state of a killed swap back when no whole state is in place, and only then', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const stateDir = path.join(dir, 'alpha')
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!
      const older = path.join(dir, `.alpha.ckpt-old-${gone}-0000aaaa`)
      const newer = path.join(dir, `.alpha.ckpt-old-${gone}-0000bbbb`)
      await fs.mkdir(older)
      await fs.writeFile(path.join(older, 'which'), 'older')
      await new Promise((resolve) => setTimeout(resolve, 20))
      await fs.mkdir(newer)
      await fs.writeFile(path.join(newer, 'which'), 'newer')
      await fs.mkdir(stateDir) // an empty stateDir made since (ckpt run makes one) is not a whole state
      await cleanLeftovers(stateDir)
      assert.equal(await fs.readFile(path.join(stateDir, 'which'), 'utf8'), 'newer')
      assert.deepEqual((await fs.readdir(dir)).sort(), ['alpha'])

      const leftover = path.join(dir, `.alpha.ckpt-old-${gone}-0000cccc`)
      await fs.mkdir(leftover)
      await fs.writeFile(path.join(leftover, 'which'), 'leftover')
      await cleanLeftovers(stateDir)
      assert.equal(await fs.readFile(path.join(stateDir, 'which'), 'utf8'), 'newer', 'a whole state in place stays')
      assert.equal(await exists(leftover), false, 'an old state beside a whole one is a leftover')
    } finally {
      await cleanup()
    }
  })
})
