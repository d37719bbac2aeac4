import {PluginAutocomplete} from '../../cli/autocomplete.js'

export default class AutocompleteCreate extends PluginAutocomplete {
  static override description = 'create autocomplete setup scripts and completion functions'
  static override hidden = true
  protected readonly pluginName = 'create'
}
