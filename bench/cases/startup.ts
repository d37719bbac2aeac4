// Start-up: `ckpt --version` and `ckpt checkpoint list --json` on an empty store against `node -e 0`.
import {mkdir} from 'node:fs/promises'
import * as path from 'node:path'
import {ckpt, ckptEnv, writeJobFile} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import {interleave, type Side} from '../lib/measure.js'
import {atMostTarget, type BenchContext, type CaseResult} from '../lib/model.js'

export async function startupCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const dir = path.join(b.work, 'startup')
  // An empty store is an empty folder: a missing one is refused as a mistyped address (exit 5).
  await mkdir(path.join(dir, 'primary'), {recursive: true})
  const fileJob = await writeJobFile(path.join(dir, 'file.json'), {job: 'startup', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local'), stateDir: path.join(dir, 'state')})
  const sides: Side[] = [
    {id: 'node', label: 'node -e 0', command: 'node -e 0', run: () => runCommand([process.execPath, '-e', '0'])},
    {id: 'version', label: 'ckpt --version', command: b.ckpt.display(['--version']), run: () => b.ckpt.run(['--version'])},
    {
      id: 'list',
      label: 'ckpt checkpoint list --json (empty file store)',
      command: b.ckpt.display(['checkpoint', 'list', '-j', fileJob, '--json']),
      run: () => b.ckpt.run(['checkpoint', 'list', '-j', fileJob, '--json']),
    },
  ]
  const notes: string[] = []
  if (b.options.cases.some((c) => c.startsWith('azure'))) {
    const az = await b.azurite()
    await az.createContainer('startup')
    const azJob = await writeJobFile(path.join(dir, 'azure.json'), {job: 'startup', primary: 'azure://startup/empty', localRoot: path.join(dir, 'local'), stateDir: path.join(dir, 'state')})
    const azCkpt = ckpt(ckptEnv({AZURE_STORAGE_CONNECTION_STRING: az.connectionString}), b.options.timeoutMs, b.options.cli)
    sides.push({
      id: 'list-azure',
      label: 'ckpt checkpoint list --json (empty Azurite store)',
      command: azCkpt.display(['checkpoint', 'list', '-j', azJob, '--json']),
      run: () => azCkpt.run(['checkpoint', 'list', '-j', azJob, '--json']),
    })
    notes.push('The Azurite row is for information (the target is about the empty store; the Azure SDK import and one list call are in it).')
  }
  const m = await interleave(sides, b.options.startupRuns, b.log)
  const node = m.node.medianMs!
  const ratio = (id: string) => (m[id].medianMs === null ? null : Math.round((m[id].medianMs! / node) * 100) / 100)
  const targets = [
    atMostTarget('start-up: ckpt --version', '≤ 2.5× node -e 0', ratio('version'), 2.5, `${ratio('version')}× (${m.version.medianMs} ms vs ${node} ms)`),
    atMostTarget('start-up: ckpt checkpoint list --json, empty store', '≤ 2.5× node -e 0', ratio('list'), 2.5, `${ratio('list')}× (${m.list.medianMs} ms vs ${node} ms)`),
  ]
  if (m['list-azure']) notes.push(`Empty Azurite store: ${ratio('list-azure')}× node -e 0 (${m['list-azure'].medianMs} ms).`)
  return {
    id: 'startup',
    title: 'Start-up',
    method: `${b.options.startupRuns} rounds of node -e 0, ckpt --version and ckpt checkpoint list --json on an empty store, in turn; each is a fresh process.`,
    measurements: Object.values(m),
    targets,
    notes,
  }
}
