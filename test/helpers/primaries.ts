// The primary stores that integration tests run against. Each kind gives a fresh, empty
// primary address per test and the environment the ckpt process needs to reach it.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {Azurite, uniqueContainer} from './azurite.js'

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

let azurite: Azurite | undefined
let azuriteUsers = 0

/** The Azurite server behind azureKind, for fault tests (stop/start it, make SAS URLs). */
export function azuriteServer(): Azurite {
  if (!azurite) throw new Error('azureKind.setup() has not run')
  return azurite
}

/** Azure Blob Storage through Azurite: one server per test file, one container per fresh(). */
export const azureKind: PrimaryKind & {
  server(): Azurite
  /** The container and prefix of a target made by fresh(). */
  containerOf(target: PrimaryTarget): {container: string; prefix: string}
  /** A container URL with a SAS token for a target's container (default: read and list only). */
  sasUrl(target: PrimaryTarget, options?: {permissions?: string; expiresOn?: Date}): Promise<string>
} = {
  name: 'azure',
  async setup() {
    azuriteUsers++
    if (!azurite) azurite = await Azurite.start()
  },
  async teardown() {
    azuriteUsers = Math.max(0, azuriteUsers - 1)
    if (azuriteUsers === 0 && azurite) {
      const server = azurite
      azurite = undefined
      await server.dispose()
    }
  },
  async fresh() {
    const server = azuriteServer()
    return {url: `azure://${uniqueContainer('ckpt')}/prefix`, env: {AZURE_STORAGE_CONNECTION_STRING: server.connectionString}}
  },
  server: azuriteServer,
  containerOf(target) {
    const match = /^azure:\/\/([^/]+)\/?(.*)$/.exec(target.url)
    if (!match) throw new Error(`not an azure:// target: ${target.url}`)
    return {container: match[1], prefix: match[2]}
  },
  async sasUrl(target, options = {}) {
    const {container, prefix} = azureKind.containerOf(target)
    return azuriteServer().sasUrl(container, {permissions: options.permissions ?? 'rl', expiresOn: options.expiresOn, prefix})
  },
}

export const primaryKinds: PrimaryKind[] = [fileKind, azureKind]

export async function tempDir(name = 'ckpt-test-'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(path.join(tmpdir(), name))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}
