// The layers of src/core (docs/ARCHITECTURE.md): each unit (a folder, or a file at the top of
// src/core) may import only the units its row names, so no import runs back up.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const CORE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/core')

const GROUND = ['errors.ts', 'util', 'config', 'interrupt.ts', 'progress.ts']
const LOWER = [...GROUND, 'format', 'stores', 'archive', 'catalogue', 'identity.ts', 'lock', 'local', 'cleanup.ts', 'context.ts']

/** Unit → the units it may import (its own unit is always allowed). */
export const LAYERS: Record<string, string[]> = {
  'errors.ts': [],
  config: ['errors.ts'],
  util: ['errors.ts', 'config'],
  'interrupt.ts': ['errors.ts'],
  'progress.ts': [],
  format: ['errors.ts', 'util'],
  stores: ['errors.ts', 'util'],
  archive: ['errors.ts', 'util', 'format'],
  catalogue: ['errors.ts', 'util', 'format', 'stores'],
  'identity.ts': [...GROUND, 'format', 'stores'],
  lock: [...GROUND, 'format', 'stores', 'catalogue'],
  local: [...GROUND, 'format', 'stores', 'archive', 'catalogue', 'lock'],
  'cleanup.ts': [...GROUND, 'format', 'stores', 'lock', 'local'],
  'context.ts': [...GROUND, 'format', 'stores', 'catalogue', 'identity.ts', 'lock', 'local', 'cleanup.ts'],
  capture: [...GROUND, 'format', 'local'],
  restore: [...LOWER, 'capture'],
  checkpoint: [...LOWER, 'capture'],
  cluster: [...LOWER, 'capture', 'checkpoint', 'restore'],
  runner: [...LOWER, 'capture', 'checkpoint', 'restore', 'cluster'],
  metrics: [...LOWER, 'capture', 'checkpoint', 'restore', 'cluster', 'runner'],
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))
}

/** The unit of a file under src/core: its top folder, or its own name at the top. */
function unitOf(file: string): string {
  return path.relative(CORE, file).split(path.sep)[0]
}

/** Every relative module a file imports or re-exports, type-only and dynamic imports included. */
function importsOf(text: string): string[] {
  const found = new Set<string>()
  for (const re of [/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s+['"]([^'"]+)['"]/gm]) {
    for (const match of text.matchAll(re)) if (match[1].startsWith('.')) found.add(match[1])
  }
  return [...found]
}

test('every src/core file imports only from its own layer or the layers below', () => {
  const offences: string[] = []
  const files = sourceFiles(CORE)
  assert.ok(files.length > 50, `found only ${files.length} files under ${CORE}`)
  for (const file of files) {
    const unit = unitOf(file)
    const allowed = LAYERS[unit]
    if (!allowed) {
      offences.push(`${path.relative(CORE, file)}: unit ${unit} has no row in the layer table`)
      continue
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec)
      if (!target.startsWith(CORE + path.sep)) continue
      const to = unitOf(target.replace(/\.js$/, '.ts'))
      if (to !== unit && !allowed.includes(to)) offences.push(`${path.relative(CORE, file)} imports ${spec} (${unit} may not import ${to})`)
    }
  }
  assert.deepEqual(offences, [], `imports that run back up the layers:\n  ${offences.join('\n  ')}`)
})

test('the import reader sees static, type-only, multi-line and dynamic imports', () => {
  const text = "import type {A} from '../a.js'\nimport {\n  B,\n} from './b.js'\nexport {C} from '../c/c.js'\nconst d = await import('./d.js')\nimport 'node:fs'"
  assert.deepEqual(importsOf(text).sort(), ['../a.js', '../c/c.js', './b.js', './d.js'])
})

test('only the catalogue lists the primary store (stores/ implement list; cluster/ lists its own records)', () => {
  const offences: string[] = []
  for (const file of sourceFiles(CORE)) {
    const unit = unitOf(file)
    if (unit === 'catalogue' || unit === 'stores' || unit === 'cluster') continue
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/\bprimary\??\.list\(/g)) offences.push(`${path.relative(CORE, file)}: ${match[0]}`)
  }
  assert.deepEqual(offences, [], 'list the primary through src/core/catalogue')
})
