// The primary stores that integration tests run against. Each kind gives a fresh, empty
// primary address per test and the environment the ckpt process needs to reach it.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'

export interface PrimaryTarget {
  /** The value for --primary. */
  url: string
  /** Environment for the ckpt process (credentials). */
  env: Record<string, string>
}

export interface PrimaryKind {
  name: string
  /** Starts what the kind needs (a server); called once per test file. */
  setup(): Promise<void>
  teardown(): Promise<void>
  /** A fresh, empty primary. `dir` is the test's own temp folder. */
  fresh(dir: string): Promise<PrimaryTarget>
}

export const fileKind: PrimaryKind = {
  name: 'file',
  async setup() {},
  async teardown() {},
  async fresh(dir) {
    return {url: path.join(dir, 'primary'), env: {}}
  },
}

export const primaryKinds: PrimaryKind[] = [fileKind]

export async function tempDir(name = 'ckpt-test-'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(path.join(tmpdir(), name))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}
