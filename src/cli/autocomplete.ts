// bash and zsh completion through @oclif/plugin-autocomplete, loaded only when one of its commands
// runs: listed as a plugin, oclif read it at every start (about 30 ms of `checkpoint list`).
import {Command} from '@oclif/core/command'
import {createRequire} from 'node:module'
import * as path from 'node:path'
import {pathToFileURL} from 'node:url'

type PluginName = 'index' | 'create' | 'script'
type PluginCommand = {run(argv: string[], config: Command['config']): Promise<unknown>}

/** Runs the plugin's command (autocomplete, autocomplete:create or autocomplete:script) with this argv. */
export async function runPluginCommand(name: PluginName, argv: string[], config: Command['config']): Promise<unknown> {
  // The package exports its index only; its commands are files beside it (a real import() at run time).
  const main = createRequire(path.join(config.root, 'package.json')).resolve('@oclif/plugin-autocomplete')
  const file = path.join(path.dirname(main), 'commands', 'autocomplete', `${name}.js`)
  const loaded = (await import(pathToFileURL(file).href)) as {default: PluginCommand}
  return loaded.default.run(argv, config)
}

/** The three wrappers keep the plugin's definitions (ids, args, flags) and run the plugin's code. */
export abstract class PluginAutocomplete extends Command {
  protected abstract readonly pluginName: PluginName
  async run(): Promise<unknown> {
    return runPluginCommand(this.pluginName, this.argv, this.config)
  }
}
