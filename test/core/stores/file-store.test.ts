import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {storeConformance} from './conformance.js'

storeConformance('file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-filestore-'))
  return {store: new FileStore(path.join(dir, 'primary')), cleanup: () => rm(dir, {recursive: true, force: true})}
})
