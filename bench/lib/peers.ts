// The peer tools (Debian packages). The full bench installs what is missing; a smoke run uses
// what is there and reports the rest as not run.
import {existsSync} from 'node:fs'
import {capture, runCommand} from './exec.js'

export interface Peer {
  name: string
  /** Debian package. */
  pkg: string
  /** Absolute path when available. */
  bin?: string
  version?: string
  /** Why it is not used, when it is not. */
  notRun?: string
}

const WANTED: Array<{name: string; pkg: string; version: string[]}> = [
  {name: 'rclone', pkg: 'rclone', version: ['version']},
  {name: 'restic', pkg: 'restic', version: ['version']},
  // /usr/bin/time gives the exact peak RSS (getrusage); without it RSS is polled from /proc.
  {name: 'time', pkg: 'time', version: ['--version']},
]

async function which(name: string): Promise<string | undefined> {
  const out = await capture(['sh', '-c', `command -v ${name}`])
  return out && existsSync(out) ? out : undefined
}

export async function ensurePeers(mode: 'install' | 'if-present', log: (line: string) => void): Promise<Record<string, Peer>> {
  const peers: Record<string, Peer> = {}
  const missing: string[] = []
  for (const w of WANTED) {
    const bin = w.name === 'time' ? (existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined) : await which(w.name)
    peers[w.name] = {name: w.name, pkg: w.pkg, bin}
    if (!bin) missing.push(w.name)
  }
  if (missing.length > 0 && mode === 'install') {
    const pkgs = missing.map((m) => peers[m].pkg)
    log(`installing peers with apt-get: ${pkgs.join(' ')}`)
    const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'}
    try {
      await runCommand(['apt-get', 'update'], {env, rss: false, timeoutMs: 10 * 60_000})
      await runCommand(['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs], {env, rss: false, timeoutMs: 10 * 60_000})
    } catch (error) {
      throw new Error(`could not install the peers (${pkgs.join(', ')}) with apt-get; install them by hand or run as root: ${(error as Error).message}`)
    }
    for (const m of missing) peers[m].bin = m === 'time' ? '/usr/bin/time' : await which(m)
  }
  for (const w of WANTED) {
    const peer = peers[w.name]
    if (!peer.bin) {
      peer.notRun = mode === 'install' ? `${w.name} is not installed and apt-get did not provide it` : `${w.name} is not installed (this run does not install peers; the full bench does)`
      continue
    }
    const out = await capture([peer.bin, ...w.version])
    peer.version = out?.split('\n')[0]
    if (w.name === 'time') peer.version = 'GNU time'
  }
  return peers
}
