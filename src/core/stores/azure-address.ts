// Parses an Azure primary address: azure://CONTAINER[/PREFIX] with the account from
// AZURE_STORAGE_CONNECTION_STRING, or a container URL with a SAS token. Registers every
// secret it sees so that redact() masks it wherever it appears.
import {UsageError} from '../errors.js'
import {displayUrl, registerSecret} from '../util/redact.js'
import type {AzureAuth} from './azure-errors.js'

export type AzureSource = {kind: 'connection-string'; connectionString: string} | {kind: 'container-url'; containerUrl: string}

export interface AzureAddress {
  container: string
  /** '' or a prefix ending in '/', prepended to every key. */
  prefix: string
  display: string
  /**
   * Tells two stores apart where display may not: the account, container and prefix, not the
   * endpoint (one account reached through a proxy or another endpoint is the same store). No secret.
   */
  identity: string
  endpoint: string
  auth: AzureAuth
  source: AzureSource
}

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/
const PATH_STYLE_PORTS = new Set(['10000', '10001', '10002', '10003', '10004', '10005', '10006', '10007', '10008', '10009'])

function checkContainer(container: string, url: string): string {
  if (!CONTAINER_NAME.test(container)) {
    throw new UsageError(`primary store ${url}: "${container}" is not a valid container name; use 3-63 lowercase letters, digits and single hyphens`)
  }
  return container
}

function prefixOf(parts: string[]): string {
  const clean = parts.filter((part) => part !== '')
  if (clean.some((part) => part === '.' || part === '..')) throw new UsageError('primary store: the prefix may not contain "." or ".." segments')
  return clean.length === 0 ? '' : `${clean.join('/')}/`
}

/** Azurite and IP hosts put the account in the path (http://127.0.0.1:10000/devstoreaccount1/...). */
function isPathStyle(url: URL): boolean {
  return /^(localhost|host\.docker\.internal|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i.test(url.hostname) || PATH_STYLE_PORTS.has(url.port)
}

function parseConnectionString(value: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const part of value.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim())
  }
  return fields
}

function sasAuth(query: URLSearchParams): AzureAuth {
  const date = (name: string) => {
    const value = query.get(name)
    const parsed = value ? new Date(value) : undefined
    return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined
  }
  return {kind: 'sas', expiresOn: date('se'), startsOn: date('st'), permissions: query.get('sp') ?? undefined}
}

function registerSas(sas: string): void {
  registerSecret(sas.replace(/^\?/, ''))
  const sig = new URLSearchParams(sas.replace(/^\?/, '')).get('sig') ?? undefined
  registerSecret(sig)
  registerSecret(sig && encodeURIComponent(sig))
}

function fromAzureUrl(url: string, env: NodeJS.ProcessEnv): AzureAddress {
  const match = /^azure:\/\/([^/?#]*)([^?#]*)$/i.exec(url)
  if (!match) throw new UsageError(`primary store ${displayUrl(url)}: expected azure://CONTAINER[/PREFIX]`)
  const container = checkContainer(match[1], url)
  const prefix = prefixOf(match[2].split('/').map((part) => decodeURIComponent(part)))
  const connectionString = env.AZURE_STORAGE_CONNECTION_STRING?.trim()
  if (!connectionString) {
    throw new UsageError(`primary store ${url}: set AZURE_STORAGE_CONNECTION_STRING to the storage account's connection string (or use a container URL with a SAS token)`)
  }
  registerSecret(connectionString)
  const fields = parseConnectionString(connectionString)
  registerSecret(fields.get('accountkey'))
  const sas = fields.get('sharedaccesssignature')
  if (sas) registerSas(sas)
  const development = fields.get('usedevelopmentstorage') === 'true'
  const account = fields.get('accountname') ?? (development ? 'devstoreaccount1' : '')
  let endpoint = fields.get('blobendpoint')
  if (!endpoint && development) endpoint = `http://127.0.0.1:10000/devstoreaccount1`
  if (!endpoint && account) endpoint = `${fields.get('defaultendpointsprotocol') ?? 'https'}://${account}.blob.${fields.get('endpointsuffix') ?? 'core.windows.net'}`
  if (!endpoint || (!fields.get('accountkey') && !sas && !development)) {
    throw new UsageError('AZURE_STORAGE_CONNECTION_STRING is not a usable connection string: it needs AccountName and AccountKey (or BlobEndpoint and SharedAccessSignature)')
  }
  let origin: string
  try {
    origin = new URL(endpoint).origin
  } catch {
    throw new UsageError('AZURE_STORAGE_CONNECTION_STRING: BlobEndpoint is not a URL')
  }
  const auth: AzureAuth = sas ? sasAuth(new URLSearchParams(sas.replace(/^\?/, ''))) : {kind: 'key', account}
  return {
    container,
    prefix,
    display: `azure://${container}${prefix === '' ? '' : `/${prefix.slice(0, -1)}`}`,
    identity: `azure://${account}/${container}/${prefix}`,
    endpoint: origin,
    auth,
    source: {kind: 'connection-string', connectionString},
  }
}

function fromContainerUrl(url: string): AzureAddress {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`primary store ${displayUrl(url)}: not a valid URL`)
  }
  if (parsed.search) registerSas(parsed.search)
  if (!parsed.searchParams.get('sig')) {
    throw new UsageError(`primary store ${displayUrl(url)}: a container URL needs a SAS token (?sv=...&sig=...); or use azure://CONTAINER with AZURE_STORAGE_CONNECTION_STRING`)
  }
  const segments = parsed.pathname
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part))
  const accountPath = isPathStyle(parsed) ? segments.shift() : undefined
  const container = segments.shift()
  if (!container || (isPathStyle(parsed) && !accountPath)) {
    throw new UsageError(
      `primary store ${displayUrl(url)}: the URL names no container; expected ${isPathStyle(parsed) ? 'http://HOST:PORT/ACCOUNT/CONTAINER' : 'https://ACCOUNT.blob.core.windows.net/CONTAINER'}[/PREFIX]?SAS`,
    )
  }
  checkContainer(container, displayUrl(url))
  const base = `${parsed.origin}/${accountPath === undefined ? '' : `${encodeURIComponent(accountPath)}/`}${container}`
  return {
    container,
    prefix: prefixOf(segments),
    display: displayUrl(url),
    identity: `azure://${accountPath ?? parsed.hostname.split('.')[0]}/${container}/${prefixOf(segments)}`,
    endpoint: parsed.origin,
    auth: sasAuth(parsed.searchParams),
    source: {kind: 'container-url', containerUrl: `${base}${parsed.search}`},
  }
}

export function parseAzureAddress(url: string, env: NodeJS.ProcessEnv): AzureAddress {
  return /^azure:/i.test(url) ? fromAzureUrl(url, env) : fromContainerUrl(url)
}
