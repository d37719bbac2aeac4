import {CkptCommand} from '../../cli/base.js'
import {fishCompletion} from '../../cli/fish.js'

export default class AutocompleteFish extends CkptCommand {
  static override summary = 'Print completions for the fish shell (bash and zsh: ckpt autocomplete).'
  static override description = `Writes a fish completion script for every command, its flags and their values to stdout. Install it once: ckpt autocomplete fish > ~/.config/fish/completions/ckpt.fish`
  static override examples = ['<%= config.bin %> autocomplete fish', '<%= config.bin %> autocomplete fish > ~/.config/fish/completions/ckpt.fish']

  async run() {
    await this.parse(AutocompleteFish)
    const script = fishCompletion(this.config.bin, this.config.commands, this.config.topics)
    return this.show({shell: 'fish', script}, (r) => process.stdout.write(r.script))
  }
}
