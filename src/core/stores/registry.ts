// Maps a primary store URL to a store. Heavy SDKs are imported lazily, only for their scheme.
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {UsageError} from '../errors.js'
import {FileStore} from './file-store.js'
import type {PrimaryStore} from './store.js'

export interface StoreOptions {
  /** Folder that relative file paths resolve against. */
  baseDir: string
  /** Upload/download block size in bytes. */
  blockSize?: number
  /** Parallel blocks or ranges per transfer. */
  concurrency?: number
  env?: NodeJS.ProcessEnv
  /** A missing file store is created (default) rather than refused; readers set it false. */
  create?: boolean
  /** Called when opening created a new, empty store. */
  onCreated?: (where: string) => void
}

type Factory = (url: string, options: StoreOptions) => Promise<PrimaryStore>

const factories: Record<string, Factory> = {
  file: async (url, options) => {
    const {store, created} = await FileStore.open(path.resolve(options.baseDir, url.startsWith('file:') ? fileURLToPath(url) : url), {create: options.create ?? true})
    if (created) options.onCreated?.(store.displayUrl)
    return store
  },
  azure: async (url, options) => {
    const {openRetried} = await import('./azure-store.js')
    return openRetried(url, options)
  },
}

export function schemeOf(url: string): string {
  if (/^azure:\/\//i.test(url) || /^https?:\/\//i.test(url)) return 'azure'
  if (/^file:/i.test(url)) return 'file'
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url.slice(0, url.indexOf(':')).toLowerCase()
  return 'file'
}

export async function openPrimaryStore(url: string, options: StoreOptions): Promise<PrimaryStore> {
  if (url.trim() === '') throw new UsageError('primary store: the address is empty; give a folder, file://PATH or azure://CONTAINER[/PREFIX]')
  const scheme = schemeOf(url)
  const factory = factories[scheme]
  if (!factory) {
    throw new UsageError(`primary store: unknown scheme "${scheme}:"; use a folder, file://PATH, azure://CONTAINER[/PREFIX] or a container URL with a SAS token`)
  }
  return factory(url, options)
}
