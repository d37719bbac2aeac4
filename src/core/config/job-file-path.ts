// Where the job file is: a -j (or CKPT_JOB_FILE) that names a folder means its ckpt.json; without
// one, ckpt.json in the working folder or the nearest parent that has one, as git finds .git.
import {statSync} from 'node:fs'
import * as path from 'node:path'
import {DEFAULT_JOB_FILE} from './job-file.js'

function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory()
  } catch {
    return false // absent or unreadable: loading it says which
  }
}

/** The job file a given path names: the path itself, or ckpt.json in it when it is a folder. */
export function jobFileIn(given: string, cwd = process.cwd()): string {
  const file = path.resolve(cwd, given)
  return isFolder(file) || /[/\\]$/.test(given) ? path.join(file, DEFAULT_JOB_FILE) : file
}

/** The nearest ckpt.json from cwd upwards; cwd/ckpt.json when there is none, so the error names it. */
export function findJobFile(cwd = process.cwd()): string {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const file = path.join(dir, DEFAULT_JOB_FILE)
    try {
      if (statSync(file).isFile()) return file
    } catch {
      // not here: look in the parent
    }
    if (path.dirname(dir) === dir) return path.resolve(cwd, DEFAULT_JOB_FILE)
  }
}

export function resolveJobFile(given: string | undefined, cwd = process.cwd()): string {
  return given === undefined || given === '' ? findJobFile(cwd) : jobFileIn(given, cwd)
}
