import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {PluginAutocomplete} from '../../cli/autocomplete.js'

export default class Autocomplete extends PluginAutocomplete {
  static override description = 'Display autocomplete installation instructions (bash, zsh; fish: ckpt autocomplete fish).'
  static override args = {shell: Args.string({description: 'Shell type', options: ['zsh', 'bash', 'powershell'], required: false})}
  static override flags = {'refresh-cache': Flags.boolean({char: 'r', description: 'Refresh cache (ignores displaying instructions)'})}
  static override examples = ['$ <%= config.bin %> autocomplete', '$ <%= config.bin %> autocomplete bash', '$ <%= config.bin %> autocomplete zsh', '$ <%= config.bin %> autocomplete --refresh-cache']
  protected readonly pluginName = 'index'
}
