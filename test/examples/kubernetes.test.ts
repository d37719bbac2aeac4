// The Kubernetes example (examples/kubernetes): every YAML document is valid against the Kubernetes
// API schemas (kubernetes-models), and the manifests keep what ckpt relies on: the pod name as the
// node, local roots and stateDirs on a volume, credentials from a Secret, a job file ckpt accepts.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {StatefulSet, type IStatefulSet} from 'kubernetes-models/apps/v1/StatefulSet'
import {ConfigMap, type IConfigMap} from 'kubernetes-models/v1/ConfigMap'
import type {IContainer} from 'kubernetes-models/v1/Container'
import {Secret, type ISecret} from 'kubernetes-models/v1/Secret'
import {Service, type IService} from 'kubernetes-models/v1/Service'
import {parseAllDocuments} from 'yaml'
import {parseJobSpec} from '../../src/core/config/job-file.js'

const FOLDER = path.resolve(import.meta.dirname, '../../examples/kubernetes')
const MODELS: Record<string, {new (data: never): {validate(): void}; prototype: {validate(): void}}> = {
  'apps/v1 StatefulSet': StatefulSet,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
}

/**
 * The fields of `data` its schema does not know: the generated validators ignore them (they read
 * only the properties a schema names), where kubectl's strict field validation refuses them. So
 * the validator runs on proxies that record which keys it read; a key never read is unknown.
 */
function unknownFields(Model: (typeof MODELS)[string], data: unknown): string[] {
  const unknown: string[] = []
  const checks: Array<() => void> = []
  const watched = (value: unknown, at: string): unknown => {
    if (value === null || typeof value !== 'object') return value
    const read = new Set<string>()
    const target = Array.isArray(value) ? value.map((v, i) => watched(v, `${at}[${i}]`)) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, watched(v, at === '' ? k : `${at}.${k}`)]))
    if (!Array.isArray(value))
      checks.push(() =>
        unknown.push(
          ...Object.keys(target)
            .filter((k) => !read.has(k))
            .map((k) => (at === '' ? k : `${at}.${k}`)),
        ),
      )
    return new Proxy(target, {get: (t, key, receiver) => (typeof key === 'string' && read.add(key), Reflect.get(t, key, receiver))})
  }
  Model.prototype.validate.call(watched(data, ''))
  for (const check of checks) check()
  return unknown
}

interface Doc {
  file: string
  index: number
  data: {apiVersion?: string; kind?: string; metadata?: {name?: string}}
}

function loadDocs(): Doc[] {
  const files = readdirSync(FOLDER).filter((f) => f.endsWith('.yaml'))
  assert.ok(files.length > 0, `no .yaml files in ${FOLDER}`)
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(FOLDER, file), 'utf8')).map((doc, index) => {
      assert.deepEqual(doc.errors, [], `${file} document ${index}: YAML errors`)
      return {file, index, data: doc.toJS() as Doc['data']}
    }),
  )
}

const docs = loadDocs()
const one = <T>(kind: string): T => {
  const found = docs.filter((d) => d.data.kind === kind)
  assert.equal(found.length, 1, `expected one ${kind} in examples/kubernetes, found ${found.length}`)
  return found[0].data as T
}
const sts = one<IStatefulSet>('StatefulSet')
const pod = sts.spec!.template.spec!
const ckptContainer = (): IContainer => {
  const found = pod.containers.filter((c) => (c.command ?? []).includes('ckpt') && (c.command ?? []).includes('run'))
  assert.equal(found.length, 1, 'expected one container whose command is `ckpt run`')
  return found[0]
}
const envOf = (name: string) => ckptContainer().env?.find((e) => e.name === name)
const jobFilePath = () => {
  const value = envOf('CKPT_JOB_FILE')?.value
  assert.ok(value && path.isAbsolute(value), 'CKPT_JOB_FILE must be an absolute path')
  return value
}
const rawJob = () => {
  const cm = one<IConfigMap>('ConfigMap')
  const text = cm.data?.[path.basename(jobFilePath())]
  assert.ok(text, `ConfigMap ${cm.metadata?.name} has no key ${path.basename(jobFilePath())}`)
  return JSON.parse(text) as {tasks: Array<{id: string; node?: string}>; primary?: string}
}
const job = () => parseJobSpec(rawJob(), jobFilePath())

/** The volume mounted at the longest mountPath that holds `dir`, with its mount. */
function volumeHolding(dir: string) {
  const mounts = (ckptContainer().volumeMounts ?? []).filter((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0]
  assert.ok(mount, `${dir} is in the container's own file system (no volume is mounted there): it is lost with the container`)
  const volume = pod.volumes?.find((v) => v.name === mount.name) ?? sts.spec!.volumeClaimTemplates?.find((t) => t.metadata?.name === mount.name)
  assert.ok(volume, `volumeMount ${mount.name} names no volume of the pod`)
  return {mount, volume: volume as Record<string, unknown>}
}

describe('examples/kubernetes', () => {
  it('every YAML document is valid against the Kubernetes API schema of its kind', () => {
    for (const {file, index, data} of docs) {
      const Model = MODELS[`${data.apiVersion} ${data.kind}`]
      assert.ok(Model, `${file} document ${index}: no schema for ${data.apiVersion} ${data.kind}`)
      assert.doesNotThrow(() => new Model(data as never).validate(), `${file} document ${index} (${data.kind} ${data.metadata?.name})`)
    }
  })

  it('no document has a field its schema does not know (as kubectl --validate=strict)', () => {
    for (const {file, index, data} of docs) {
      const Model = MODELS[`${data.apiVersion} ${data.kind}`]
      assert.deepEqual(Model && unknownFields(Model, data), [], `${file} document ${index} (${data.kind} ${data.metadata?.name}): unknown fields`)
    }
  })

  it('the schema checks refuse a wrong field type and an unknown field (they are not checks that cannot fail)', () => {
    const broken = structuredClone(sts) as unknown as {spec: {replicas: unknown; template: {spec: {containers: Array<Record<string, unknown>>}}}}
    assert.deepEqual(unknownFields(StatefulSet, broken), [])
    broken.spec.template.spec.containers[0].comand = ['ckpt', 'run']
    assert.deepEqual(unknownFields(StatefulSet, broken), ['spec.template.spec.containers[0].comand'])
    broken.spec.replicas = '3'
    assert.throws(() => new StatefulSet(broken as never).validate(), /replicas must be integer/)
  })

  it('CKPT_NODE is the pod name (fieldRef metadata.name), and no --node overrides it', () => {
    const node = envOf('CKPT_NODE')
    assert.equal(node?.value, undefined, 'CKPT_NODE must not be a literal value')
    assert.equal(node?.valueFrom?.fieldRef?.fieldPath, 'metadata.name')
    assert.ok(!(ckptContainer().command ?? []).includes('--node'), 'the command must not set --node')
    assert.ok(!(ckptContainer().args ?? []).includes('--node'), 'the args must not set --node')
  })

  it('the local roots and stateDirs are on a writable volume that outlives the container, not in its own file system', () => {
    const spec = job()
    const dirs = [...(spec.localRoots ?? []), ...spec.tasks.map((t) => t.stateDir)]
    assert.ok((spec.localRoots ?? []).length > 0, 'the job file must name its localRoots (the default is beside the read-only job file)')
    for (const dir of dirs) {
      const {mount, volume} = volumeHolding(dir)
      assert.notEqual(mount.readOnly, true, `${dir}: volume ${mount.name} is mounted read-only`)
      const kind = ['hostPath', 'emptyDir', 'persistentVolumeClaim', 'spec'].find((k) => volume[k] !== undefined)
      assert.ok(kind, `${dir}: volume ${mount.name} must be a hostPath, an emptyDir or a PersistentVolumeClaim`)
    }
  })

  it('each pod has its own folder of the machine-local volume (hostPath, subPathExpr by the pod name)', () => {
    const {mount, volume} = volumeHolding(job().localRoots![0])
    assert.ok(volume.hostPath, `volume ${mount.name} must be a hostPath: it survives the pod and serves a pod back on its machine`)
    assert.equal(mount.subPathExpr, '$(CKPT_NODE)')
  })

  it('store credentials come from a Secret key (secretKeyRef), never a literal value', () => {
    const secrets = docs.filter((d) => d.data.kind === 'Secret').map((d) => d.data as ISecret)
    const containers = [...pod.containers, ...(pod.initContainers ?? [])]
    const credentials = containers.flatMap((c) => (c.env ?? []).filter((e) => /^AZURE_STORAGE_|^CKPT_PRIMARY$/.test(e.name)))
    assert.ok(
      credentials.some((e) => e.name === 'AZURE_STORAGE_CONNECTION_STRING'),
      'the job file names an azure:// primary: AZURE_STORAGE_CONNECTION_STRING must be set',
    )
    for (const e of credentials) {
      assert.equal(e.value, undefined, `${e.name} must not be a literal value`)
      const ref = e.valueFrom?.secretKeyRef
      assert.ok(ref, `${e.name} must come from a secretKeyRef`)
      const secret = secrets.find((s) => s.metadata?.name === ref.name)
      assert.ok(secret, `${e.name}: Secret ${ref.name} is not in examples/kubernetes`)
      const value = secret.stringData?.[ref.key]
      assert.ok(value !== undefined, `${e.name}: Secret ${ref.name} has no stringData key ${ref.key}`)
      assert.match(value, /<[a-z-]+>/, `Secret ${ref.name} key ${ref.key} must hold placeholders, never a real secret`)
    }
    for (const c of containers) assert.ok(!(c.envFrom ?? []).some((s) => s.configMapRef), 'no credentials through envFrom a ConfigMap')
    assert.doesNotMatch(rawJob().primary ?? '', /[?&]sig=|AccountKey=/i, 'the job file (a ConfigMap) must not carry a SAS or key')
  })

  it("the ConfigMap's job file is mounted where CKPT_JOB_FILE points, and ckpt's own parser accepts it", () => {
    const cm = one<IConfigMap>('ConfigMap')
    const {mount, volume} = volumeHolding(jobFilePath())
    assert.equal(mount.mountPath, path.dirname(jobFilePath()))
    assert.equal((volume.configMap as {name?: string} | undefined)?.name, cm.metadata?.name)
    const spec = job()
    assert.equal(spec.tasks.length, rawJob().tasks.length)
    assert.equal(spec.checkpoint.format, 2, 'many nodes need checkpoint format 2')
  })

  it("every task's node is a pod of the StatefulSet, and every pod runs a task", () => {
    const pods = Array.from({length: sts.spec!.replicas ?? 1}, (_, i) => `${sts.metadata!.name}-${i}`)
    const tasks = rawJob().tasks
    for (const t of tasks) assert.ok(t.node !== undefined && pods.includes(t.node), `task ${t.id}: node ${t.node} is not one of ${pods.join(', ')}`)
    for (const p of pods)
      assert.ok(
        tasks.some((t) => t.node === p),
        `pod ${p} runs no task`,
      )
  })

  it("the pod's termination grace period outlasts ckpt's stop timeout, with room for an upload's tail", () => {
    const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000
    const stopMs = job().run.stopTimeoutMs ?? 10_000
    assert.ok(graceMs >= stopMs + 30_000, `terminationGracePeriodSeconds ${graceMs / 1000}s < run.stopTimeout ${stopMs / 1000}s + 30s`)
  })

  it("the StatefulSet's serviceName is a headless Service of the example that selects its pods", () => {
    const service = one<IService>('Service')
    assert.equal(sts.spec!.serviceName, service.metadata?.name)
    assert.equal(service.spec?.clusterIP, 'None')
    assert.deepEqual(service.spec?.selector, sts.spec!.selector.matchLabels)
  })
})
