// Whether a task's index fits its archive and its manifest record: every file's bytes lie inside
// the archive at a whole, non-negative offset and size, with a digest, and the files and bytes add
// up to the record's. `checkpoint verify` reports these problems; a restore does not plan from an
// index that has one (a hostile or corrupt store could make it allocate without bound).

export interface IndexedFile {
  path: string
  type: string
  size: number
  offset?: number
  sha256?: string
}

export interface ArchiveRecord {
  archiveSize: number
  files: number
  bytes: number
}

export interface FitProblem {
  /** The file of the index the problem is about; none for the index as a whole. */
  file?: string
  problem: string
}

const SHA256 = /^[0-9a-f]{64}$/

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0
}

/** Every way the index's files do not fit the archive and the record; empty when they fit. */
export function indexFitProblems(record: ArchiveRecord, entries: readonly IndexedFile[]): FitProblem[] {
  if (!isCount(record.archiveSize)) return [{problem: `the manifest gives the archive ${JSON.stringify(record.archiveSize)} bytes, not a byte count`}]
  const problems: FitProblem[] = []
  let files = 0
  let bytes = 0
  for (const e of entries) {
    if (e.type !== 'file') continue
    files++
    if (!isCount(e.size) || !isCount(e.offset) || e.offset + e.size > record.archiveSize) {
      problems.push({file: e.path, problem: `${e.path}: ${JSON.stringify(e.size)} bytes at offset ${JSON.stringify(e.offset)} lie outside the archive of ${record.archiveSize} bytes`})
    } else bytes += e.size
    if (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256)) problems.push({file: e.path, problem: `${e.path}: the index gives no SHA-256 digest`})
  }
  if (files !== record.files || (problems.length === 0 && bytes !== record.bytes)) {
    problems.push({problem: `index lists ${files} files of ${bytes} bytes, the manifest says ${record.files} files of ${record.bytes} bytes`})
  }
  return problems
}
