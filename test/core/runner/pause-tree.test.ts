// A paused task holds still as a whole: children that left its process group (PostgreSQL's
// backends each call setsid) are stopped with it and resumed with it.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, statSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {TaskProcess} from '../../../src/core/runner/task-process.js'
import {tempDir} from '../../helpers/primaries.js'
import {processState, waitFor} from '../../helpers/run-job.js'

describe('pausing a task', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('ckpt-pause-tree-')))
  after(() => cleanup())

  it('stops and resumes descendants in sessions of their own, and kill() leaves none stopped', async () => {
    const pidFile = path.join(dir, 'child.pid')
    const ticks = path.join(dir, 'ticks')
    const loop = `echo $$ > ${pidFile}; while :; do echo x >> ${ticks}; sleep 0.005; done`
    let child: number | undefined
    const proc = new TaskProcess({taskId: 't', command: ['/bin/sh', '-c', `setsid /bin/sh -c '${loop}' >/dev/null 2>&1 & wait`], cwd: dir, env: process.env, onLine: () => {}})
    try {
      await waitFor('the child in its own session', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n') && existsSync(ticks))
      child = Number(readFileSync(pidFile, 'utf8'))
      await proc.pause()
      assert.equal(processState(child), 'T', 'the child that left the group is stopped')
      const size = statSync(ticks).size
      await sleep(150)
      assert.equal(statSync(ticks).size, size, 'nothing is written while the task is paused')
      proc.resume()
      await waitFor('the child writing again', () => statSync(ticks).size > size)
      assert.notEqual(processState(child), 'T')

      await proc.pause()
      proc.kill()
      await proc.exited
      await waitFor('the child running again after kill()', () => processState(child!) !== 'T', 2000)
    } finally {
      proc.kill()
      if (child) process.kill(child, 'SIGKILL') // in a session of its own, the group kill misses it
    }
  })
})
