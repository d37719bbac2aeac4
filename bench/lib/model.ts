// What a case reports: measurements, targets (met or missed, with the figures) and notes.
import type {Azurite} from './azurite.js'
import type {Ckpt} from './ckpt.js'
import type {TreeInfo, TreeSpec} from './data.js'
import type {Measurement} from './measure.js'
import type {NetworkProfile} from './netem-proxy.js'
import type {BenchOptions, CaseName} from './options.js'
import type {Peer} from './peers.js'
import type {LinearFit} from './stats.js'

export interface TargetResult {
  name: string
  /** The target as the issue states it. */
  target: string
  /** The measured figure the target is judged on (a ratio, MiB, an exponent), null when not measured. */
  value: number | null
  /** The figure for people, e.g. "1.32× cp -a's throughput". */
  measured: string
  met: boolean | null
  /** The link the figure was measured over (Azurite cases). */
  network?: string
  /** Why it is not judged, when it is not (a peer not run). */
  notJudged?: string
}

export interface GrowthPoint {
  x: number
  medians: Record<string, number>
  /** Max − min of the samples (ms): the run-to-run noise at this point. */
  spreads?: Record<string, number>
  maxRssMiB?: Record<string, number>
}

export interface GrowthSeries {
  /** What grows: files or checkpoints. */
  axis: string
  points: GrowthPoint[]
  /** Per operation: linear fit of median ms against x. */
  fits: Record<string, LinearFit>
}

export interface CaseResult {
  id: CaseName
  title: string
  /** The link between the clients and Azurite (Azurite cases): same-machine or a profile name. */
  network?: string
  /** The link in words: its bandwidth, round trip and cap. */
  networkDescription?: string
  /** How the case is run, in a sentence or two. */
  method: string
  measurements: Measurement[]
  targets: TargetResult[]
  series?: GrowthSeries
  notes: string[]
  durationMs: number
  /** 1-minute load average at the start and end of the case: other work on the machine shows here. */
  loadAverage?: [number, number]
  error?: string
}

export interface BenchContext {
  options: BenchOptions
  /** The scratch folder of this run. */
  work: string
  log(line: string): void
  peers: Record<string, Peer>
  /** ckpt with a clean environment (file store). */
  ckpt: Ckpt
  /** A data set under work/data, made once per spec. */
  dataset(name: string, spec: TreeSpec): Promise<TreeInfo>
  /** The modelled link for the Azurite cases; undefined: same machine, no model. */
  network?: NetworkProfile
  /** Azurite, started on first use. */
  azurite(): Promise<Azurite>
  /** Measurements shared between cases (e.g. the 100k-file runs of growth feed the memory case). */
  shared: Map<string, unknown>
}

export function ratioTarget(name: string, target: string, ckpt: Measurement, peer: Measurement, min: number, wording: (ratio: string) => string): TargetResult {
  if (ckpt.medianMs === null || peer.medianMs === null) {
    return {name, target, value: null, measured: 'not measured', met: null, notJudged: peer.notRun ?? ckpt.notRun ?? 'not measured'}
  }
  const value = Math.round((peer.medianMs / ckpt.medianMs) * 100) / 100
  return {name, target, value, measured: wording(`${value.toFixed(2)}×`), met: value >= min}
}

export function atMostTarget(name: string, target: string, value: number | null, max: number, measured: string): TargetResult {
  return value === null ? {name, target, value, measured: 'not measured', met: null, notJudged: 'not measured'} : {name, target, value, measured, met: value <= max}
}
