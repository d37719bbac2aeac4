// What the figures were measured on: the machine and the versions of everything involved.
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import {capture} from './exec.js'
import {repoRoot} from './options.js'
import type {Peer} from './peers.js'

export interface MachineInfo {
  cpuModel: string
  nproc: number
  memoryGiB: number
  kernel: string
  os: string
  filesystem: string
}

export async function machineInfo(workDir: string): Promise<MachineInfo> {
  const cpuinfo = await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown'
  const osRelease = await fs.readFile('/etc/os-release', 'utf8').catch(() => '')
  const nproc = Number(await capture(['nproc'])) || os.availableParallelism()
  const df = await capture(['df', '-hT', workDir])
  const dfLine = df?.split('\n')[1]?.split(/\s+/)
  return {
    cpuModel: model.trim(),
    nproc,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    os: /PRETTY_NAME="?([^"\n]+)/.exec(osRelease)?.[1] ?? os.platform(),
    filesystem: dfLine ? `${dfLine[1]} on ${dfLine[0]} (${dfLine[4]} free) at ${workDir}` : workDir,
  }
}

async function packageVersion(name: string): Promise<string | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(repoRoot, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

export async function versions(peers: Record<string, Peer>): Promise<Record<string, string>> {
  const pkg = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8'))
  const commit = await capture(['git', '-C', repoRoot, 'rev-parse', '--short', 'HEAD'])
  const dirty = await capture(['git', '-C', repoRoot, 'status', '--porcelain', '--', 'src'])
  const out: Record<string, string> = {
    ckpt: `${pkg.version} (${commit ?? 'no git'}${dirty ? ', src/ modified' : ''})`,
    node: process.version,
    '@azure/storage-blob': (await packageVersion('@azure/storage-blob')) ?? '?',
    azurite: (await packageVersion('azurite')) ?? '?',
    '@oclif/core': (await packageVersion('@oclif/core')) ?? '?',
  }
  for (const peer of Object.values(peers)) out[peer.name] = peer.version ?? `not installed (${peer.notRun})`
  return out
}
