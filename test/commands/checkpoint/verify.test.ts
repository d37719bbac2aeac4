// 'ckpt checkpoint verify' through the built CLI: documents, exit codes, every problem at once.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {runCli} from '../../helpers/cli.js'
import {breakFour, checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

for (const kind of primaryKinds) {
  describe(`ckpt checkpoint verify on the ${kind.name} store`, () => {
    let j: CheckpointJob
    before(async () => {
      await kind.setup()
      j = await checkpointJob(kind, {extra: FORMAT_1})
      await j.take(4)
    })
    after(async () => {
      await j?.cleanup()
      await kind.teardown()
    })

    it('checks the latest by default, lists incomplete ones under --all without failing, and fails on a named incomplete one', async () => {
      const latest = await j.ckpt(['checkpoint', 'verify'])
      assert.equal(latest.code, 0, latest.stderr)
      assert.deepEqual(latest.json, {ok: true, readData: 'none', checkpoints: [{checkpointId: 'chk-4', status: 'completed', ok: true, problems: [], filesRead: 0, bytesRead: 0}]})
      await j.ctx.primary.put(keys.claim(j.ctx.job.name, 'chk-5'), Buffer.from('{}'))
      const all = await j.ckpt(['checkpoint', 'verify', '--all', '--read-data'])
      assert.equal(all.code, 0, all.stdout)
      assert.deepEqual(
        all.json.checkpoints.map((c: any) => [c.checkpointId, c.status, c.ok]),
        [
          ['chk-1', 'completed', true],
          ['chk-2', 'completed', true],
          ['chk-3', 'completed', true],
          ['chk-4', 'completed', true],
          ['chk-5', 'incomplete', true],
        ],
      )
      const named = await j.ckpt(['checkpoint', 'verify', 'chk-5', 'chk-77'])
      assert.equal(named.code, 3)
      assert.deepEqual(
        named.json.checkpoints.map((c: any) => [c.checkpointId, c.status, c.ok]),
        [
          ['chk-5', 'incomplete', false],
          ['chk-77', 'missing', false],
        ],
      )
      const bad = await j.ckpt(['checkpoint', 'verify', 'seven'])
      assert.equal(bad.code, 2)
      assert.equal(bad.json.error.exit, 2)
      await j.ctx.primary.delete(keys.claim(j.ctx.job.name, 'chk-5'))
    })

    // Only stores that can hand out read-only credentials (Azure SAS) have this case.
    const sas = (kind as {sasUrl?: (target: unknown, options?: {permissions?: string}) => Promise<string>}).sasUrl
    if (sas)
      it('verifies with read-only credentials, warning that it cannot hold a lock', async () => {
        const readOnly = await sas(j.target, {permissions: 'rl'})
        const result = await runCli(['checkpoint', 'verify', '--all', '--json', '--primary', readOnly], {cwd: j.dir, env: {}})
        assert.equal(result.code, 0, result.stderr)
        assert.equal(result.json.checkpoints.length, 4)
        assert.match(result.stderr, /cannot write a lock .* going on without one/)
      })

    it('reports a deleted, a truncated and a flipped object and an unparsable manifest in one run, exit 3', async () => {
      await breakFour(j)
      const quick = await j.ckpt(['checkpoint', 'verify', '--all'])
      assert.equal(quick.code, 3, quick.stderr)
      assert.deepEqual(
        quick.json.checkpoints.map((c: any) => c.ok),
        [false, false, false, true],
      )
      const full = await j.ckpt(['checkpoint', 'verify', '--all', '--read-data'])
      assert.equal(full.code, 3)
      assert.equal(full.json.ok, false)
      const problems = full.json.checkpoints.flatMap((c: any) => c.problems.map((p: any) => ({checkpointId: c.checkpointId, ...p})))
      assert.ok(problems.some((p: any) => p.checkpointId === 'chk-1' && p.object.endsWith('manifests/chk-1.json') && /not valid JSON/.test(p.problem)))
      assert.ok(problems.some((p: any) => p.checkpointId === 'chk-2' && p.taskId === 'alpha' && p.problem === 'archive is missing'))
      assert.ok(problems.some((p: any) => p.checkpointId === 'chk-3' && p.taskId === 'beta' && /bytes, the manifest says/.test(p.problem)))
      assert.ok(problems.some((p: any) => p.checkpointId === 'chk-4' && p.taskId === 'alpha' && p.file === 'counter.txt'))
      const human = await runCli(['checkpoint', 'verify', '--all', '--read-data'], {cwd: j.dir, env: j.target.env})
      assert.equal(human.code, 3)
      // A table (issue 15): one row per problem, counts in words.
      assert.match(human.stdout, /^checkpoint\s+status\s+result\s+read\s+task\s+where\s+problem$/m, human.stdout)
      assert.match(human.stdout, /^chk-2\s+completed\s+1 problem\s+\d+ files\s+alpha\s+object \S*alpha\.tar\s+archive is missing$/m, human.stdout)
      assert.match(human.stdout, /Problems in 4 of 4 checkpoints\./)
    })
  })
}
