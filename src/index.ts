// The CLI in one module: every command, by id, for oclif's explicit command discovery
// (package.json oclif.commands), and oclif's execute for bin/run.js. The build bundles this file
// with everything it imports into dist/index.js, so a start reads one file, not hundreds.
import Autocomplete from './commands/autocomplete/index.js'
import AutocompleteCreate from './commands/autocomplete/create.js'
import AutocompleteFish from './commands/autocomplete/fish.js'
import AutocompleteScript from './commands/autocomplete/script.js'
import CheckpointExport from './commands/checkpoint/export.js'
import CheckpointList from './commands/checkpoint/list.js'
import CheckpointPrune from './commands/checkpoint/prune.js'
import CheckpointShow from './commands/checkpoint/show.js'
import CheckpointTake from './commands/checkpoint/take.js'
import CheckpointVerify from './commands/checkpoint/verify.js'
import Init from './commands/init.js'
import LocalList from './commands/local/list.js'
import LocalPrune from './commands/local/prune.js'
import Restore from './commands/restore.js'
import Run from './commands/run.js'
import Status from './commands/status.js'
import Unlock from './commands/unlock.js'

export {execute, NOT_FOUND} from './cli/main.js'
/** The help class (package.json oclif.helpClass): ENVIRONMENT and EXIT STATUS per command. */
export {CkptHelp as HELP} from './cli/help.js'

export const COMMANDS = {
  autocomplete: Autocomplete,
  'autocomplete:create': AutocompleteCreate,
  'autocomplete:fish': AutocompleteFish,
  'autocomplete:script': AutocompleteScript,
  'checkpoint:export': CheckpointExport,
  'checkpoint:list': CheckpointList,
  'checkpoint:prune': CheckpointPrune,
  'checkpoint:show': CheckpointShow,
  'checkpoint:take': CheckpointTake,
  'checkpoint:verify': CheckpointVerify,
  init: Init,
  'local:list': LocalList,
  'local:prune': LocalPrune,
  restore: Restore,
  run: Run,
  status: Status,
  unlock: Unlock,
}
