// Maps a primary store URL to a store, behind the retry decorator. Heavy SDKs are imported lazily,
// only for their scheme.
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {UsageError} from '../errors.js'
import {FileStore} from './file-store.js'
import {withRetry} from './retry.js'
import type {PrimaryStore, StoreOptions} from './store.js'

export type {StoreOptions} from './store.js'

/** A store made without a request, and the first request that checks it (retried like any other). */
type Factory = (url: string, options: StoreOptions) => Promise<{primary: PrimaryStore; check?: () => Promise<void>}>

const factories: Record<string, Factory> = {
  file: async (url, options) => {
    const {store, created} = await FileStore.open(path.resolve(options.baseDir, url.startsWith('file:') ? fileURLToPath(url) : url), {create: options.create ?? true})
    if (created) options.onCreated?.(store.displayUrl)
    return {primary: store}
  },
  azure: async (url, options) => {
    const {createAzureStore} = await import('./azure-store.js')
    const store = createAzureStore(url, options)
    return {primary: store, check: () => store.open()}
  },
}

export function schemeOf(url: string): string {
  if (/^azure:\/\//i.test(url) || /^https?:\/\//i.test(url)) return 'azure'
  if (/^file:/i.test(url)) return 'file'
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url.slice(0, url.indexOf(':')).toLowerCase()
  return 'file'
}

/** Opens the store at url; every store comes back wrapped in the retry decorator (retry.ts). */
export async function openPrimaryStore(url: string, options: StoreOptions): Promise<PrimaryStore> {
  if (url.trim() === '') throw new UsageError('primary store: the address is empty; give a folder, file://PATH or azure://CONTAINER[/PREFIX]')
  const scheme = schemeOf(url)
  const factory = factories[scheme]
  if (!factory) {
    throw new UsageError(`primary store: unknown scheme "${scheme}:"; use a folder, file://PATH, azure://CONTAINER[/PREFIX] or a container URL with a SAS token`)
  }
  const {primary: store, check} = await factory(url, options)
  const retrying = withRetry(store)
  if (check) await retrying.retry(check)
  return retrying
}
