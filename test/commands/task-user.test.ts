// tasks[].user through the built CLI: the command and the snapshot command run as that user, the
// state stays theirs; a ckpt that is not root refuses the field; a restore by another user keeps the files.
import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {binRun, cliEnv, collectCli, runCli} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

const NOBODY = {uid: Number(execFileSync('id', ['-u', 'nobody'], {encoding: 'utf8'})), gid: Number(execFileSync('id', ['-g', 'nobody'], {encoding: 'utf8'}))}

/** The built CLI run as the user nobody (node drops root's groups with the ids). */
function runAsNobody(args: string[], cwd: string) {
  return collectCli(spawn(process.execPath, [binRun, ...args], {cwd, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...NOBODY}))
}

async function owner(p: string): Promise<[number, number]> {
  const st = await fs.lstat(p)
  return [st.uid, st.gid]
}

describe('tasks[].user', {timeout: 60_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('ckpt-task-user-'))
    await fs.chmod(dir, 0o755) // the task's user must reach its stateDir
  })
  after(() => cleanup())

  async function folder(name: string): Promise<string> {
    const d = path.join(dir, name)
    await fs.mkdir(d)
    return d
  }

  it('runs the command as that user in a stateDir of theirs, and the snapshot command too', async () => {
    const d = await folder('run')
    // The task ends once it has written: the run ends with it (a fixed --duration could end first on a loaded machine).
    const command = 'id -u > "$CKPT_STATE_DIR/uid"; id -g > "$CKPT_STATE_DIR/gid"'
    await writeJob(d, {tasks: [{id: 'svc', command, user: 'nobody'} as never]})
    await fs.rmdir(path.join(d, 'state', 'svc')) // ckpt makes it, and gives it to the task's user
    const r = await runCli(['run', '--duration', '60s', '--interval', '0', '--json'], {cwd: d})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.exit.reason, 'every task finished')
    const state = path.join(d, 'state', 'svc')
    assert.equal((await fs.readFile(path.join(state, 'uid'), 'utf8')).trim(), String(NOBODY.uid))
    assert.equal((await fs.readFile(path.join(state, 'gid'), 'utf8')).trim(), String(NOBODY.gid))
    assert.deepEqual(await owner(state), [NOBODY.uid, NOBODY.gid])

    const s = await folder('snapshot')
    await writeJob(s, {tasks: [{id: 'svc', user: 'nobody', snapshot: {command: 'id -u > "$CKPT_SNAPSHOT_DIR/snapshot-uid"'}} as never]})
    const take = await runCli(['checkpoint', 'take', '--json'], {cwd: s})
    assert.equal(take.code, 0, take.stderr)
    const restore = await runCli(['restore', '--prefer', 'remote', '--json'], {cwd: s})
    assert.equal(restore.code, 0, restore.stderr)
    const written = path.join(s, 'state', 'svc', 'snapshot-uid')
    assert.equal((await fs.readFile(written, 'utf8')).trim(), String(NOBODY.uid))
    assert.deepEqual(await owner(written), [NOBODY.uid, NOBODY.gid], 'the file keeps the owner the snapshot gave it')
  })

  it('refuses the field with exit 2 when ckpt is not root', async () => {
    const d = await folder('not-root')
    await writeJob(d, {tasks: [{id: 'svc', command: 'true', user: 'root'} as never]})
    const r = await runAsNobody(['checkpoint', 'list', '--json'], d)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.json.error.message, /tasks\[0\]\.user: ckpt runs as uid \d+, not as root, and only root can run a task as another user \(root, uid 0\)/)
  })

  it('a restore run by another user than root leaves every file to that user', async () => {
    const d = await folder('other-user')
    await writeJob(d, {tasks: [{id: 'a'}]})
    const state = path.join(d, 'state', 'a')
    await fs.writeFile(path.join(state, 'owned'), 'by 1201\n')
    await fs.lchown(path.join(state, 'owned'), 1201, 1301)
    await fs.chmod(state, 0o700)
    assert.equal((await runCli(['checkpoint', 'take', '--json'], {cwd: d})).code, 0)
    execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, d])
    await fs.rm(path.join(state, 'owned'))
    const r = await runAsNobody(['restore', '--json'], d)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await owner(path.join(state, 'owned')), [NOBODY.uid, NOBODY.gid])
    assert.equal((await fs.stat(state)).mode & 0o7777, 0o700, 'the mode comes back all the same')
  })
})
