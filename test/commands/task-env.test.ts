// ckpt's store credentials stay with ckpt: snapshot commands and tasks do not inherit them unless
// the task's env asks (issue 11 item 31), through the built CLI.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

const SECRET = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS1ub3QtZm9yLXRhc2tz;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1'
const SAS_PRIMARY = 'http://127.0.0.1:1/devstoreaccount1/c?sv=2024-01-01&sp=rl&sig=c2VjcmV0LXNhcw%3D'

function envOf(text: string): Map<string, string> {
  return new Map(
    text
      .split('\0')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  )
}

describe('the environment of tasks and snapshot commands', () => {
  const env = {AZURE_STORAGE_CONNECTION_STRING: SECRET, AZURE_STORAGE_KEY: 'c2VjcmV0', CKPT_PRIMARY: SAS_PRIMARY, KEEP_ME: 'yes'}

  /** Takes a checkpoint and runs the job for a moment; each task's snapshot and command dump their environment. */
  async function dumps(dir: string, taskEnv: Record<string, unknown>): Promise<Array<[string, Map<string, string>]>> {
    const dump = (name: string) => `node -e 'require("fs").writeFileSync(process.argv[1], Object.entries(process.env).map(([k, v]) => k + "=" + v).join("\\0"))' ${path.join(dir, name)}`
    const jobFile = await writeJob(dir, {tasks: [{id: 't', command: dump('run.env'), snapshot: {command: dump('snap.env')}, env: taskEnv as Record<string, string>}]})
    const primary = path.join(dir, 'primary')
    const take = await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', primary], {env})
    assert.equal(take.code, 0, take.stderr)
    // The run ends when the task has written its environment and exited (a fixed --duration could end first on a loaded machine).
    const run = await runCli(['run', '-j', jobFile, '--primary', primary, '--interval', '0', '--duration', '60s', '--fresh'], {env})
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout + run.stderr, /every task finished/)
    return Promise.all(['snap', 'run'].map(async (kind): Promise<[string, Map<string, string>]> => [kind, envOf(await fs.readFile(path.join(dir, `${kind}.env`), 'utf8'))]))
  }

  it("does not pass ckpt's store credentials on", async () => {
    const {dir, cleanup} = await tempDir()
    try {
      for (const [kind, seen] of await dumps(dir, {LOG_LEVEL: 'info'})) {
        assert.equal(seen.get('KEEP_ME'), 'yes', `${kind}: the rest of the environment is passed on`)
        assert.equal(seen.get('LOG_LEVEL'), 'info')
        for (const name of ['AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_KEY', 'CKPT_PRIMARY']) assert.equal(seen.get(name), undefined, `${kind}: ${name} is not passed on`)
      }
    } finally {
      await cleanup()
    }
  })

  it('passes a credential to a task whose env asks for it with true', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      for (const [kind, seen] of await dumps(dir, {AZURE_STORAGE_CONNECTION_STRING: true})) {
        assert.equal(seen.get('AZURE_STORAGE_CONNECTION_STRING'), SECRET, `${kind}: a task that asks gets it`)
        assert.equal(seen.get('AZURE_STORAGE_KEY'), undefined, `${kind}: only what it asks for`)
      }
    } finally {
      await cleanup()
    }
  })
})
