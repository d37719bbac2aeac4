// What local/ work needs of an opened job (context.ts's JobContext is one), so local/ never imports context.ts.
import type {JobSpec} from '../config/job-file.js'
import type {PrimaryStore} from '../stores/store.js'
import type {SecondaryStore} from './secondary.js'

export interface LocalScope {
  job: JobSpec
  node: string
  /** The primary, asked which copies are confirmed. */
  primary: PrimaryStore
  secondary: SecondaryStore
}
