// tasks[].user: a user name or uid, resolved when the job file is read; unknown users are named.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {describe, it} from 'node:test'
import {parseJobSpec} from '../../../src/core/config/job-file.js'
import {UsageError} from '../../../src/core/errors.js'

const file = '/jobs/ckpt.json'
const idOf = (flag: string, user: string) => Number(execFileSync('id', [flag, user], {encoding: 'utf8'}).trim())
const withUser = (user: unknown) => ({
  job: 'x',
  tasks: [
    {id: 'a', stateDir: 's'},
    {id: 'b', stateDir: 't', user},
  ],
})

describe('tasks[].user', () => {
  it('resolves a user name and a uid to the uid and gid of that user', () => {
    const byName = parseJobSpec(withUser('nobody'), file).tasks[1].user
    assert.deepEqual(byName, {name: 'nobody', uid: idOf('-u', 'nobody'), gid: idOf('-g', 'nobody')})
    const byUid = parseJobSpec(withUser(idOf('-u', 'nobody')), file).tasks[1].user
    assert.deepEqual([byUid?.uid, byUid?.gid], [idOf('-u', 'nobody'), idOf('-g', 'nobody')])
    assert.equal(parseJobSpec(withUser('nobody'), file).tasks[0].user, undefined)
  })

  it('refuses an unknown user or a malformed value with exit 2, naming the field', () => {
    for (const [value, why] of [
      ['no-such-user-ckpt', /tasks\[1\]\.user: no user "no-such-user-ckpt" on this machine/],
      [4_000_000_000, /tasks\[1\]\.user: no user with uid 4000000000 on this machine/],
      ['', /tasks\[1\]\.user: must be a user name or a uid/],
      [-1, /tasks\[1\]\.user: must be a user name or a uid/],
    ] as const) {
      assert.throws(
        () => parseJobSpec(withUser(value), file),
        (error: unknown) => {
          assert.ok(error instanceof UsageError)
          assert.equal(error.exit, 2)
          assert.match(error.message, why)
          return true
        },
      )
    }
  })
})
