// A take's side of the secondary copy: the archive's reader hands it every entry and file's bytes
// as it reads them. Writes go on in the background, and a failure drops the secondary copy, never
// the take: the task then recovers from the primary.
import type {FileHandle} from 'node:fs/promises'
import {messageOf} from '../errors.js'
import type {FileEntry, StateRoot} from '../format/manifest.js'
import type {CopyWriter, LocalCopy} from '../local/secondary.js'
import {Limiter} from '../util/pool.js'
import {dataRuns} from '../util/sparse.js'
import {writeAll} from '../util/write-all.js'

/** Small files' secondary writes in flight while the archive reads on. */
const SECONDARY_WRITES = 32
/** Big files whose secondary copy may still be closing while the next file is read. */
const SECONDARY_BIG_FILES = 4

export class SecondarySink {
  /** Why the secondary copy was dropped (the first failure). */
  error: string | undefined
  private writer: CopyWriter | undefined
  // Writes never reject here (a failure drops the copy), so the limiter only bounds them.
  private readonly background = new Limiter(SECONDARY_WRITES)

  private constructor(private readonly started: CopyWriter | undefined) {
    this.writer = started
  }

  /** Starts the pending copy; a failure to start is a dropped copy, not a failed take. */
  static async open(begin: (() => Promise<CopyWriter>) | undefined): Promise<SecondarySink> {
    if (!begin) return new SecondarySink(undefined)
    try {
      return new SecondarySink(await begin())
    } catch (error) {
      const sink = new SecondarySink(undefined)
      sink.drop(error)
      return sink
    }
  }

  drop(error: unknown): void {
    this.error ??= messageOf(error)
    this.writer = undefined
  }

  async add(entry: FileEntry): Promise<void> {
    await this.writer?.add(entry).catch((error) => this.drop(error))
  }

  /** Waits only for room among the background writes, not for this write. */
  async writeSmall(entry: FileEntry, data: Buffer): Promise<void> {
    const writer = this.writer
    if (writer) await this.inBackground(SECONDARY_WRITES, () => writer.writeFile(entry, data))
  }

  /** A big file's copy, written chunk by chunk as it is read; undefined when there is no copy. */
  async openBig(entry: FileEntry): Promise<BigFileCopy | undefined> {
    const writer = this.writer
    const handle = await writer?.openFile(entry).catch((error) => void this.drop(error))
    return writer && handle ? new BigFileCopy(this, writer, handle, entry) : undefined
  }

  inBackground(room: number, write: () => Promise<void>): Promise<boolean> {
    return this.background.start(() => write().catch((error) => this.drop(error)), room)
  }

  /** Waits for every background write. */
  async settle(): Promise<void> {
    await this.background.drain()
  }

  /** Publishes the copy as pending; undefined (and nothing left behind) when it was dropped. */
  async finish(root: StateRoot): Promise<LocalCopy | undefined> {
    await this.settle()
    const copy = await this.writer?.finish(root).catch((error) => void this.drop(error))
    if (!copy) await this.started?.abort()
    return copy ?? undefined
  }

  /** The take failed: nothing of the copy stays. */
  async abort(): Promise<void> {
    await this.settle()
    await this.started?.abort()
  }
}

/** One big file's secondary copy. Positioned writes that skip zero blocks keep a sparse file sparse. */
export class BigFileCopy {
  private open = true

  constructor(
    private readonly sink: SecondarySink,
    private readonly writer: CopyWriter,
    private readonly handle: FileHandle,
    private readonly entry: FileEntry,
  ) {}

  async write(chunk: Buffer, position: number): Promise<void> {
    for (const run of dataRuns(chunk, position) ?? [{data: chunk, position}]) {
      if (!this.open) return
      await writeAll(this.handle, run.data, run.position).catch((error) => this.fail(error))
    }
  }

  /** The file is read whole: its size, mode and time are set while the next file is read. */
  async close(): Promise<void> {
    if (!this.open) return
    this.open = false
    await this.sink.inBackground(SECONDARY_BIG_FILES, async () => {
      try {
        await this.writer.closeFile(this.handle, this.entry)
      } catch (error) {
        // the write's error is what drops the copy; closing is best effort
        await this.handle.close().catch(() => {})
        throw error
      }
    })
  }

  /** Reading the file failed: its handle is closed, the copy is dropped by the caller's failure. */
  async discard(): Promise<void> {
    if (!this.open) return
    this.open = false
    // the copy is being discarded: its handle's close error changes nothing
    await this.handle.close().catch(() => {})
  }

  private fail(error: unknown): void {
    this.open = false
    // the copy is being discarded: its handle's close error changes nothing
    this.handle.close().catch(() => {})
    this.sink.drop(error)
  }
}
