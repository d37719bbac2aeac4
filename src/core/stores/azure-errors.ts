// Turns Azure SDK and network failures into ckpt's error classes, with messages that say which
// problem it is (unreachable, wrong key, expired or read-only SAS) and never carry a secret.
import {AlreadyExistsError, NotFoundError, OperationError, StoreUnavailableError, TransientStoreError} from '../errors.js'
import {redact} from '../util/redact.js'
import {parseRetryAfter} from './retry.js'

export type AzureAuth = {kind: 'key'; account: string} | {kind: 'sas'; expiresOn?: Date; startsOn?: Date; permissions?: string}

export interface AzureContext {
  /** The store's address without secrets. */
  display: string
  /** scheme://host[:port] of the blob endpoint. */
  endpoint: string
  container: string
  auth: AzureAuth
}

export interface FailedCall {
  /** What ckpt was doing: "write", "create" (create-if-absent), "read", "list", ... */
  action: string
  key?: string
  /** Set when ckpt's own timer aborted the request. */
  timedOutAfterMs?: number
}

/** The permissions ckpt needs in a SAS token: read, add, create, write, delete, list. */
export const NEEDED_SAS_PERMISSIONS = 'racwdl'

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EAI_FAIL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
])
const TRANSIENT_NETWORK = new Set(['ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'TIMEOUT', 'UND_ERR_SOCKET', 'REQUEST_SEND_ERROR'])
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504])
const AUTH_FAILED = new Set(['AuthenticationFailed', 'AuthorizationFailure', 'InvalidAuthenticationInfo', 'NoAuthenticationInformation'])
const PERMISSION = new Set([
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'InsufficientAccountPermissions',
  'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch',
])

interface SdkError {
  name?: string
  message?: string
  code?: string
  statusCode?: number
  details?: {errorCode?: string}
  response?: {headers?: {get?: (name: string) => string | undefined}}
}

/** The wait an answer asked for: Retry-After (seconds or an HTTP date), or Azure's millisecond variants. */
function retryAfterOf(error: unknown): number | undefined {
  const headers = (error as SdkError)?.response?.headers
  const get = (name: string) => (typeof headers?.get === 'function' ? headers.get(name) : undefined)
  for (const name of ['x-ms-retry-after-ms', 'retry-after-ms']) {
    const value = get(name)?.trim()
    if (value && /^\d+$/.test(value)) return Number(value)
  }
  return parseRetryAfter(get('retry-after'))
}

/** The service's error code (HEAD responses carry it only in details), or the network code. */
export function azureCode(error: unknown): string | undefined {
  const e = error as SdkError
  return e?.details?.errorCode ?? e?.code
}

export function azureStatus(error: unknown): number | undefined {
  return (error as SdkError)?.statusCode
}

/** A cause that is safe to print: status, code and the first line of the message, redacted. */
function safeCause(error: unknown): Error {
  const e = error as SdkError
  const line = String(e?.message ?? error).split('\n')[0]
  const parts = [e?.statusCode, azureCode(error), line].filter((p) => p !== undefined && p !== '')
  return new Error(redact(parts.join(' ')))
}

function credentialProblem(ctx: AzureContext, code: string, now = new Date()): string {
  const auth = ctx.auth
  if (auth.kind === 'key') {
    if (PERMISSION.has(code)) return `the storage account refused the credentials (${code}): the account key of "${auth.account}" may not do this`
    return `the storage account refused the credentials (${code}): the account key of "${auth.account}" is wrong; check AccountKey in AZURE_STORAGE_CONNECTION_STRING`
  }
  if (auth.expiresOn && auth.expiresOn.getTime() <= now.getTime()) {
    return `the SAS token expired at ${auth.expiresOn.toISOString()}; make a new one`
  }
  if (auth.startsOn && auth.startsOn.getTime() > now.getTime()) {
    return `the SAS token is not valid before ${auth.startsOn.toISOString()}`
  }
  if (PERMISSION.has(code)) {
    const granted = auth.permissions ?? '?'
    const readOnly = !/[acw]/.test(granted)
    return `the SAS token ${readOnly ? 'is read-only' : 'lacks a permission'} (${code}): it grants "${granted}", ckpt needs "${NEEDED_SAS_PERMISSIONS}"`
  }
  return `the storage account refused the SAS token (${code}): its signature is wrong or it was revoked`
}

/** Whether a SAS grants no way to write (no add, create or write permission): read from its `sp` field. */
export function sasIsReadOnly(auth: AzureAuth): boolean {
  return auth.kind === 'sas' && auth.permissions !== undefined && !/[acw]/.test(auth.permissions)
}

/** Maps any failure of an SDK call to a ckpt error, classified once into a StoreFailureKind. */
export function translateAzureError(error: unknown, ctx: AzureContext, call: FailedCall): Error {
  if (error instanceof StoreUnavailableError || error instanceof NotFoundError || error instanceof AlreadyExistsError || error instanceof OperationError) return error
  const where = `primary store ${ctx.display}: cannot ${call.action}${call.key === undefined ? '' : ` ${call.key}`}`
  const cause = safeCause(error)
  if (call.timedOutAfterMs !== undefined) {
    return new TransientStoreError(`${where}: no answer from ${ctx.endpoint} within ${Math.round(call.timedOutAfterMs / 1000)}s`, {cause, kind: 'timeout'})
  }
  const code = azureCode(error) ?? ''
  const status = azureStatus(error)
  if (status === undefined && UNREACHABLE.has(code)) {
    return new StoreUnavailableError(`${where}: cannot reach ${ctx.endpoint} (${code}); check the address and that the service is up`, {cause, kind: 'unreachable'})
  }
  if (status === 403 || AUTH_FAILED.has(code) || PERMISSION.has(code)) {
    const readOnly = PERMISSION.has(code) && sasIsReadOnly(ctx.auth)
    return new StoreUnavailableError(`${where}: ${credentialProblem(ctx, code || String(status))}`, {cause, refusal: 'refused', kind: readOnly ? 'read-only' : 'credentials'})
  }
  if (code === 'BlobNotFound' || (status === 404 && call.key !== undefined && code !== 'ContainerNotFound')) return new NotFoundError(call.key ?? '', {cause})
  if (code === 'ContainerNotFound') {
    return new StoreUnavailableError(`${where}: container "${ctx.container}" does not exist (was it deleted?)`, {cause, kind: 'missing'})
  }
  if (call.action === 'create' && (code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || status === 409 || status === 412)) return new AlreadyExistsError(call.key ?? '', {cause})
  if (code === 'ConditionNotMet' || status === 412) return new OperationError(`${where}: the object changed while it was read; try again`, {cause})
  if (
    (status !== undefined && TRANSIENT_STATUS.has(status)) ||
    TRANSIENT_NETWORK.has(code) ||
    (status === undefined && /socket hang up|aborted|timed? ?out/i.test(String((error as SdkError)?.message)))
  ) {
    const kind = status === 429 || status === 503 ? 'throttled' : 'transient'
    const transient = new TransientStoreError(`${where}: ${status === undefined ? '' : `${status} `}${code || 'network error'} from ${ctx.endpoint}; try again`, {cause, kind})
    transient.retryAfterMs = retryAfterOf(error)
    return transient
  }
  return new OperationError(`${where}: ${cause.message}`, {cause})
}
