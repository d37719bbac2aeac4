// A state that changes a little per round, for format-2 prune and verify tests: a 3 MiB file whose
// middle chunk is rewritten, a counter, a file per round that the next round deletes.
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {takeCheckpoint} from '../../src/core/checkpoint/take.js'
import type {CheckpointJob} from './checkpoints.js'
import {stateFiles} from './hand-format2.js'

export type Files = Record<string, Record<string, string>>

/** Changes every task's state for round `r` (1, 2, …). */
export async function changeState(j: CheckpointJob, tasks: string[], r: number): Promise<void> {
  for (const id of tasks) {
    const dir = j.state(id)
    const big = path.join(dir, 'big.bin')
    if (r === 1) await fs.writeFile(big, randomBytes(3 << 20))
    const handle = await fs.open(big, 'r+')
    await handle.write(randomBytes(4096), 0, 4096, (1 << 20) + ((r * 8192) % (1 << 19)))
    await handle.close()
    await fs.writeFile(path.join(dir, 'counter.txt'), `${id} round ${r} ${randomBytes(8).toString('hex')}\n`)
    await fs.writeFile(path.join(dir, `round-${r}.txt`), randomBytes(2000))
    await fs.rm(path.join(dir, `round-${r - 1}.txt`), {force: true})
  }
}

/** Changes the state and takes a checkpoint in this process; returns its id and the files it holds. */
export async function takeRound(j: CheckpointJob, tasks: string[], r: number): Promise<{id: string; files: Files}> {
  await changeState(j, tasks, r)
  const files = await stateFiles(Object.fromEntries(tasks.map((t) => [t, j.state(t)])))
  const {checkpointId} = await takeCheckpoint(j.ctx)
  return {id: checkpointId, files}
}
