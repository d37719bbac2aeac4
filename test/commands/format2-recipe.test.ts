// The recipe of docs/FORMAT.md ("Getting a task's files back without ckpt"), run as written there
// with bash and jq on a format-2 checkpoint taken by the CLI: the folder it makes equals the task's state
// byte for byte, with modes, owners (as root) and times.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {repoRoot, runCli} from '../helpers/cli.js'
import {makeTree, writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'
import {describeState} from '../helpers/tree-state.js'

/** The recipe block of docs/FORMAT.md with its four settings replaced. */
async function recipe(settings: Record<'STORE' | 'JOB' | 'ID' | 'TASK', string>): Promise<string> {
  const doc = await fs.readFile(path.join(repoRoot, 'docs', 'FORMAT.md'), 'utf8')
  const block = /<!-- recipe:begin -->\n```sh\n([\s\S]*?)```\n<!-- recipe:end -->/.exec(doc)
  assert.ok(block, 'docs/FORMAT.md has the recipe block')
  let script = block[1]
  for (const [name, value] of Object.entries(settings)) {
    const line = new RegExp(`^${name}=.*$`, 'm')
    assert.match(script, line, `the recipe sets ${name}`)
    script = script.replace(line, `${name}='${value}'`)
  }
  return script
}

describe("the FORMAT.md recipe that gets a format-2 task's files back without ckpt", () => {
  let dir: string
  let cleanup: () => Promise<void>

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    await writeJob(dir, {tasks: [{id: 'alpha'}], primary: path.join(dir, 'primary'), localRoots: [path.join(dir, 'local')], extra: {checkpoint: {format: 2}}})
    const state = path.join(dir, 'state', 'alpha')
    await makeTree(state, {bigBytes: 3_000_000})
    await fs.writeFile(path.join(state, "it's a 'quoted' name $HOME.txt"), 'quotes')
    await fs.chown(path.join(state, 'nested', 'secret.key'), 4242, 4243)
    await fs.chmod(path.join(state, 'nested'), 0o750)
    // two takes: the second's index names blobs the first one stored, in packs of both
    assert.equal((await runCli(['checkpoint', 'take'], {cwd: dir})).code, 0)
    await fs.writeFile(path.join(state, 'top.txt'), 'second take\n')
    const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
    assert.equal(take.code, 0, take.stderr)
    assert.deepEqual([take.json.checkpointId, take.json.format], ['chk-2', 2])
  })
  after(() => cleanup?.())

  it('rebuilds the state byte for byte with bash, jq, tail and head', async () => {
    const out = path.join(dir, 'out')
    await fs.mkdir(out)
    const script = await recipe({STORE: path.join(dir, 'primary'), JOB: 'testjob', ID: 'chk-2', TASK: 'alpha'})
    execFileSync('bash', ['-e', '-o', 'pipefail', '-c', script], {cwd: out, stdio: ['ignore', 'pipe', 'pipe']})
    const expected = await describeState(path.join(dir, 'state', 'alpha'))
    const actual = await describeState(out)
    assert.deepEqual(actual.entries, expected.entries)
    assert.deepEqual(actual.root, expected.root)
  })
})
