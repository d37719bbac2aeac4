import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {BlobServiceClient, ContainerClient, StorageSharedKeyCredential, generateBlobSASQueryParameters, ContainerSASPermissions} from '@azure/storage-blob'
const dir = mkdtempSync('/tmp/azx/loc-')
const p = spawn(process.execPath, ['node_modules/azurite/dist/src/blob/main.js', '--blobHost', '127.0.0.1', '--blobPort', '0', '--location', dir, '--skipApiVersionCheck', '--disableTelemetry', '--loose', '--silent'], {stdio: ['ignore', 'pipe', 'inherit']})
const port = await new Promise<number>((res) => { let out=''; p.stdout!.on('data', (d) => { out += d; const m = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out); if (m) res(Number(m[1])) }) })
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const cs = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`
const svc = BlobServiceClient.fromConnectionString(cs, {retryOptions: {maxTries: 1}})
const c = svc.getContainerClient('ctr1')
const show = (label: string, e: any) => console.log(label, {name: e.name, code: e.code, status: e.statusCode, ec: e.details?.errorCode, msg: String(e.message).slice(0, 300)})
try { await c.getProperties() } catch (e) { show('container props missing', e) }
try { for await (const x of c.listBlobsFlat().byPage({maxPageSize: 1})) {} } catch (e) { show('list missing', e) }
await c.create()
const b = c.getBlockBlobClient('x y/ü')
try { await b.getProperties() } catch (e) { show('head missing', e) }
try { await b.download(0, 10) } catch (e) { show('get missing', e) }
await b.upload(Buffer.alloc(0), 0)
try { const r = await b.download(0, 10); console.log('empty range ok', r.contentLength, r.contentRange) } catch (e) { show('range on empty', e) }
await b.upload(Buffer.from('hello world'), 11)
{ const r = await b.download(3, 4); console.log('range', r.contentLength, r.contentRange, r.etag) }
try { await b.download(30, 4) } catch (e) { show('range past end', e) }
try { await b.upload(Buffer.from('x'), 1, {conditions: {ifNoneMatch: '*'}}) } catch (e) { show('upload ifNoneMatch', e) }
const id = Buffer.from('aaaa').toString('base64')
await b.stageBlock(id, Buffer.from('zz'), 2)
try { await b.commitBlockList([id], {conditions: {ifNoneMatch: '*'}}) } catch (e) { show('commit ifNoneMatch', e) }
// wrong key
const bad = BlobServiceClient.fromConnectionString(cs.replace(KEY, Buffer.from('x'.repeat(64)).toString('base64')), {retryOptions: {maxTries: 1}})
try { await bad.getContainerClient('ctr1').getBlockBlobClient('q').upload(Buffer.from('x'), 1) } catch (e) { show('wrong key put', e) }
try { for await (const x of bad.getContainerClient('ctr1').listBlobsFlat().byPage({maxPageSize: 1})) {} } catch (e) { show('wrong key list', e) }
try { await bad.getContainerClient('ctr1').getBlockBlobClient('q').getProperties() } catch (e) { show('wrong key head', e) }
const cred = new StorageSharedKeyCredential('devstoreaccount1', KEY)
const sas = (perm: string, expires: Date, container='ctr1') => `http://127.0.0.1:${port}/devstoreaccount1/${container}?` + generateBlobSASQueryParameters({containerName: container, permissions: ContainerSASPermissions.parse(perm), expiresOn: expires}, cred).toString()
const expired = new ContainerClient(sas('racwdl', new Date(Date.now() - 60000)), {retryOptions: {maxTries: 1}})
try { for await (const x of expired.listBlobsFlat().byPage({maxPageSize: 1})) {} } catch (e) { show('expired list', e) }
try { await expired.getBlockBlobClient('q').upload(Buffer.from('x'), 1) } catch (e) { show('expired put', e) }
const ro = new ContainerClient(sas('rl', new Date(Date.now() + 3600000)), {retryOptions: {maxTries: 1}})
for await (const x of ro.listBlobsFlat().byPage({maxPageSize: 1})) {console.log('ro list ok')}
try { await ro.getBlockBlobClient('q').upload(Buffer.from('x'), 1) } catch (e) { show('ro put', e) }
try { await ro.getBlockBlobClient('q').stageBlock(id, Buffer.from('x'), 1) } catch (e) { show('ro stage', e) }
try { await ro.getBlockBlobClient('q').deleteIfExists() } catch (e) { show('ro delete', e) }
const missing = new ContainerClient(sas('racwdl', new Date(Date.now() + 3600000), 'nope'), {retryOptions: {maxTries: 1}})
try { for await (const x of missing.listBlobsFlat().byPage({maxPageSize: 1})) {} } catch (e) { show('sas missing container list', e) }
try { await missing.create() } catch (e) { show('sas create container', e) }
try { await missing.getProperties() } catch (e) { show('sas container props', e) }
const closed = BlobServiceClient.fromConnectionString(cs.replace(String(port), '1'), {retryOptions: {maxTries: 1}})
try { await closed.getContainerClient('ctr1').getProperties() } catch (e) { show('closed', e) }
try { await c.getBlockBlobClient('slow').download(0, undefined, {abortSignal: AbortSignal.timeout(1)}) } catch (e) { show('timeout abort', e) }
p.kill()
