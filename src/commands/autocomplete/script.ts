import * as Args from '@oclif/core/args'
import {PluginAutocomplete} from '../../cli/autocomplete.js'

export default class AutocompleteScript extends PluginAutocomplete {
  static override description = 'outputs autocomplete config script for shells'
  static override hidden = true
  static override args = {shell: Args.string({description: 'Shell type', options: ['zsh', 'bash', 'powershell'], required: false})}
  protected readonly pluginName = 'script'
}
