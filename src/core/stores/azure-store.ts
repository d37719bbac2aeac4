// Placeholder replaced by the Azure store (issue 3).
import {UsageError} from '../errors.js'
import type {StoreOptions} from './registry.js'
import type {PrimaryStore} from './store.js'

export async function openAzureStore(_url: string, _options: StoreOptions): Promise<PrimaryStore> {
  throw new UsageError('the Azure primary store is not built yet')
}
