// The link between the Azurite cases' clients (ckpt, rclone, the SDK peer) and Azurite: direct on
// the same machine, or through the network model (netem-proxy.ts) when the case has a profile.
// Every timed client uses the same link; untimed set-up and clean-up go direct.
import type {Azurite} from './azurite.js'
import type {RunResult} from './exec.js'
import type {TargetResult} from './model.js'
import {describeProfile, SAME_MACHINE, startNetemProxy, type LinkStats, type NetemProxy, type NetworkProfile} from './netem-proxy.js'

export interface Link {
  /** same-machine or the profile's name. */
  name: string
  description: string
  connectionString: string
  /** A container SAS URL that goes over the link. */
  sasUrl(container: string): Promise<string>
  /** Wraps a timed run so the traffic of its first run is recorded under id. */
  counted(id: string, run: () => Promise<RunResult>): () => Promise<RunResult>
  /** What each side's first run sent over the link, for the case's notes. */
  trafficNotes(labels: Record<string, string>): string[]
  /** Same-machine figures are for comparison: the targets are judged on a modelled link. */
  judge(target: TargetResult): TargetResult
  close(): Promise<void>
}

export async function openLink(az: Azurite, network: NetworkProfile | undefined): Promise<Link> {
  const proxy: NetemProxy | undefined = network ? await startNetemProxy(az.port, network) : undefined
  const via = (url: string) => (proxy ? url.replace(`//127.0.0.1:${az.port}/`, `//127.0.0.1:${proxy.port}/`) : url)
  const traffic = new Map<string, LinkStats>()
  const name = network?.name ?? SAME_MACHINE
  return {
    name,
    description: describeProfile(network),
    connectionString: via(az.connectionString),
    sasUrl: async (container) => via(await az.containerSasUrl(container)),
    counted: (id, run) => async () => {
      if (!proxy || traffic.has(id)) return run()
      const before = await proxy.stats()
      const result = await run()
      const after = await proxy.stats()
      traffic.set(id, {
        connections: after.connections - before.connections,
        bytesUp: after.bytesUp - before.bytesUp,
        bytesDown: after.bytesDown - before.bytesDown,
        busyMs: after.busyMs - before.busyMs,
      })
      return result
    },
    trafficNotes(labels) {
      if (!proxy) return []
      const size = (n: number) => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`)
      const parts = [...traffic].map(
        ([id, t]) =>
          `${labels[id] ?? id}: ${t.connections} connection${t.connections === 1 ? '' : 's'}, ${size(t.bytesDown)} down, ${size(t.bytesUp)} up, proxy busy ${(t.busyMs / 1000).toFixed(2)} s`,
      )
      return [`Over the link, in each side's first run (HTTP headers included): ${parts.join('; ')}.`]
    },
    judge(target) {
      const t = {...target, network: name}
      return proxy || t.met === null ? t : {...t, met: null, notJudged: 'same machine, for comparison: the targets are judged on a modelled link'}
    },
    close: async () => proxy?.close(),
  }
}

export function linkNote(link: Link): string {
  if (link.name === SAME_MACHINE)
    return "Azurite runs on the same 2 cores as the clients and is reached directly on 127.0.0.1 (no network model), so every remote figure includes the server's CPU time too; the peers pay the same."
  return `ckpt, rclone and the SDK peer all reach Azurite through the bench's network model, ${link.description}: a proxy on 127.0.0.1 that paces each direction (shared by all connections), delays every byte by half the round trip, and makes a new connection wait one round trip; untimed set-up goes direct. The model has no loss, jitter, TCP slow start or TLS, and Azurite still shares the cores.`
}
