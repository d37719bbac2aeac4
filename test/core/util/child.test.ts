// One child-process wrapper: a snapshot command (runChild) and a task's command (TaskProcess) end
// in one result shape, and one describer says how, in the same words.
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {TaskProcess} from '../../../src/core/runner/task-process.js'
import {describeExit, runChild, type ChildExit} from '../../../src/core/util/child.js'
import {repoRoot} from '../../helpers/cli.js'
import {waitFor} from '../../helpers/run-job.js'

const program = (name: string) => path.join(repoRoot, 'test', 'fixtures', 'tasks', name)
const SHAPE = ['durationMs', 'exitCode', 'signal', 'stderrTail', 'timedOut']

function task(command: string[], lines: string[] = []): TaskProcess {
  return new TaskProcess({taskId: 't', command, cwd: repoRoot, env: process.env, onLine: (_stream, line) => lines.push(line)})
}

/** Gone, or a zombie that nobody reaped: either way it runs no more. */
const gone = (pid: number) => !existsSync(`/proc/${pid}/stat`) || /\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))

describe('the child-process wrapper', () => {
  it('describes a command that cannot start in the same words for a snapshot and for a task', async () => {
    const snapshot = await runChild(['/nonexistent/ckpt-no-such-program'], {env: process.env})
    const running = await task(['/nonexistent/ckpt-no-such-program']).exited
    for (const exit of [snapshot, running]) {
      assert.deepEqual(
        Object.keys(exit)
          .filter((k) => k !== 'error')
          .sort(),
        SHAPE,
      )
      assert.deepEqual([exit.exitCode, exit.signal, exit.timedOut], [127, null, false])
      assert.equal(describeExit(exit), 'could not start (spawn /nonexistent/ckpt-no-such-program ENOENT)')
    }
  })

  it('says "exited with code N" with the tail of stderr it kept, and a task passes its stderr on line by line', async () => {
    const snapshot = await runChild([process.execPath, program('exits.mjs'), '3', 'disk on fire\n'], {env: process.env})
    assert.equal(describeExit(snapshot), 'exited with code 3; stderr: disk on fire')
    const lines: string[] = []
    const running = await task([process.execPath, program('exits.mjs'), '3', 'disk on fire\n'], lines).exited
    assert.deepEqual(Object.keys(running).sort(), SHAPE)
    assert.equal(describeExit(running), 'exited with code 3')
    assert.deepEqual(lines, ['disk on fire'])
  })

  it('says "was killed by SIGKILL" for a killed snapshot and a killed task', async () => {
    const abort = new AbortController()
    const snapshot = runChild([process.execPath, program('hangs.mjs')], {env: process.env, signal: abort.signal})
    const lines: string[] = []
    const proc = task([process.execPath, program('hangs.mjs')], lines)
    await waitFor('the task to start its grandchild', () => lines.some((l) => l.startsWith('grandchild ')))
    abort.abort()
    proc.kill()
    for (const exit of [await snapshot, await proc.exited] as ChildExit[]) {
      assert.deepEqual([exit.exitCode, exit.signal, exit.timedOut], [null, 'SIGKILL', false])
      assert.match(describeExit(exit), /^was killed by SIGKILL/)
    }
  })

  it('says "timed out after Nms" and kills the whole process group', async () => {
    // long enough for a shell started late on a loaded machine to print its line
    const exit = await runChild('sleep 600 & echo "grandchild $!" >&2; wait', {env: process.env, timeoutMs: 5000})
    assert.equal(exit.timedOut, true)
    assert.match(describeExit(exit, 5000), /^timed out after 5000ms; stderr: grandchild \d+$/)
    const grandchild = Number(/grandchild (\d+)/.exec(exit.stderrTail)![1])
    await waitFor('the grandchild to be gone', () => gone(grandchild), 5000)
  })
})
