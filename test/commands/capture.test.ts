// What a take cannot capture fails it with exit 1, naming the file and the fix, and commits nothing.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

describe('checkpoint take of a state it cannot capture', () => {
  it('exits 1 naming a link a restore would refuse, and commits nothing', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: 'primary'})
      const state = path.join(dir, 'state', 'alpha')
      await fs.writeFile(path.join(state, 'data.txt'), 'data')
      await fs.symlink('/etc/hostname', path.join(state, 'host'))
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 1, take.stderr)
      assert.match(take.json.error.message, /task alpha: symlink host points to the absolute path "\/etc\/hostname".*remove or make it relative/)
      const list = await runCli(['checkpoint', 'list', '--json'], {cwd: dir})
      assert.deepEqual(
        list.json.checkpoints.filter((c: any) => c.status === 'completed'),
        [],
      )
    } finally {
      await cleanup()
    }
  })
})
