import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {checkEntries} from '../../../src/core/format/safe-path.js'
import {UnsafeEntryError} from '../../../src/core/errors.js'

const refuse = (entries: any[], message: RegExp) =>
  assert.throws(
    () => checkEntries(entries, 'test'),
    (e: unknown) => e instanceof UnsafeEntryError && message.test(e.message),
  )

describe('safe paths', () => {
  it('accepts plain relative entries and links that stay inside', () => {
    checkEntries(
      [
        {path: 'a', type: 'dir'},
        {path: 'a/b.txt', type: 'file'},
        {path: 'a/link', type: 'symlink', target: '../a/b.txt'},
      ],
      'test',
    )
  })

  it('refuses escapes, odd forms, special files, duplicates and entries below links', () => {
    refuse([{path: '../x', type: 'file'}], /leaves the target/)
    refuse([{path: '/etc/passwd', type: 'file'}], /absolute path/)
    refuse([{path: 'a//b', type: 'file'}], /normal form/)
    refuse([{path: './a', type: 'file'}], /normal form/)
    refuse([{path: 'a\0b', type: 'file'}], /NUL/)
    refuse([{path: '', type: 'file'}], /empty path/)
    refuse([{path: 'l', type: 'symlink', target: '/etc'}], /absolute path/)
    refuse([{path: 'a/l', type: 'symlink', target: '../../x'}], /points outside/)
    refuse(
      [
        {path: 'l', type: 'symlink', target: 'sub'},
        {path: 'l/f', type: 'file'},
      ],
      /lies below symlink l/,
    )
    refuse([{path: 'p', type: 'fifo'}], /only files, folders and symlinks/)
    refuse(
      [
        {path: 'x', type: 'file'},
        {path: 'x', type: 'file'},
      ],
      /appears twice/,
    )
  })

  it('resolves link targets through the links of the same state', () => {
    // Read lexically, a/.. is '.'; on disk a is '.', so a/.. is the parent of the state.
    refuse(
      [
        {path: 'a', type: 'symlink', target: '.'},
        {path: 'b', type: 'symlink', target: 'a/..'},
      ],
      /symlink b .*outside/,
    )
    refuse(
      [
        {path: 'b', type: 'symlink', target: 'a/../..'},
        {path: 'a', type: 'symlink', target: '.'},
      ],
      /symlink b .*outside/,
    )
    refuse(
      [
        {path: 'd', type: 'dir'},
        {path: 'd/up', type: 'symlink', target: '..'},
        {path: 'x', type: 'symlink', target: 'd/up/..'},
      ],
      /symlink x .*outside/,
    )
    refuse(
      [
        {path: 'p', type: 'symlink', target: 'q'},
        {path: 'q', type: 'symlink', target: 'p'},
      ],
      /symlink (p|q) .*loop/,
    )
    checkEntries(
      [
        {path: 'a', type: 'symlink', target: '.'},
        {path: 'd', type: 'dir'},
        {path: 'd/f', type: 'file'},
        {path: 'c', type: 'symlink', target: 'a/d/f'},
        {path: 'd/back', type: 'symlink', target: '../a/d'},
        {path: 'e', type: 'symlink', target: 'd/back/../d/f'},
      ],
      'test',
    )
  })
})
