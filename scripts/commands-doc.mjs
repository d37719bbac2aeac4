// Writes docs/COMMANDS.md from the built CLI's own help (npm run build first), so the reference
// says what `ckpt COMMAND --help` says. `--check` changes nothing and exits 1 when the file is stale.
// Usage: node scripts/commands-doc.mjs [--check]
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const file = path.join(root, 'docs', 'COMMANDS.md')
const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'))

// Fixed width, no colour, no CKPT_* from the caller: the same text on every machine.
const env = {PATH: process.env.PATH, OCLIF_COLUMNS: '100', NO_COLOR: '1', HOME: process.env.HOME ?? '/'}
const help = (args) =>
  execFileSync(process.execPath, [path.join(root, 'bin', 'run.js'), ...args, '--help'], {env, encoding: 'utf8'})
    .replace(/ckpt\/\S+ \S+ node-\S+/, 'ckpt/VERSION PLATFORM node-VERSION')
    .trimEnd()

const ids = Object.keys(manifest.commands)
  .filter((id) => !manifest.commands[id].hidden)
  .sort()
const sections = [['ckpt', []], ...ids.map((id) => [`ckpt ${id.replaceAll(':', ' ')}`, id.split(':')]), ['ckpt autocomplete', ['autocomplete']]]
const text = [
  '# Command reference',
  '',
  "Generated from the commands' own help by `npm run docs:commands`; `test/commands/help.test.ts` fails when it is out of date.",
  '',
  ...sections.map(([title]) => `- [${title}](#${title.replaceAll(' ', '-')})`),
  '',
  ...sections.flatMap(([title, args]) => [`## ${title}`, '', '```', help(args), '```', '']),
].join('\n')

if (process.argv.includes('--check')) {
  let old = ''
  try {
    old = readFileSync(file, 'utf8')
  } catch {
    // no file yet: stale, as below
  }
  if (old !== text) {
    process.stderr.write(`${path.relative(root, file)} is out of date; run 'npm run build && npm run docs:commands'\n`)
    process.exit(1)
  }
} else {
  writeFileSync(file, text)
}
