// tasks[].user: the user a task's command and snapshot command run as (a name or a uid),
// resolved with `id` (which asks NSS, so LDAP users work) or, without it, from /etc/passwd.
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'

export interface TaskUser {
  /** As the job file gives it. */
  name: string
  uid: number
  gid: number
}

/** The user, or a problem to report against the field. */
export function resolveTaskUser(value: unknown): TaskUser | {problem: string} {
  const isUid = typeof value === 'number' && Number.isInteger(value) && value >= 0
  if (!isUid && (typeof value !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(value))) {
    return {problem: 'must be a user name or a uid (a whole number)'}
  }
  const name = String(value)
  const found = lookup(name)
  if (!found) return {problem: isUid ? `no user with uid ${name} on this machine` : `no user ${JSON.stringify(name)} on this machine`}
  const self = process.geteuid?.()
  if (self !== 0 && found.uid !== self) {
    return {problem: `ckpt runs as uid ${self}, not as root, and only root can run a task as another user (${name}, uid ${found.uid}); run ckpt as root, or remove the field and run ckpt as that user`}
  }
  return {name, ...found}
}

function lookup(user: string): {uid: number; gid: number} | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim())
    const gid = Number(execFileSync('id', ['-g', user], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim())
    return Number.isInteger(uid) && Number.isInteger(gid) ? {uid, gid} : undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined
  }
  return fromPasswd(user)
}

/** name:password:uid:gid:... lines; a numeric user matches the uid field. */
function fromPasswd(user: string): {uid: number; gid: number} | undefined {
  let text: string
  try {
    text = readFileSync('/etc/passwd', 'utf8')
  } catch {
    // no /etc/passwd: the caller says the user is unknown
    return undefined
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':')
    if (name === user || uid === user) return {uid: Number(uid), gid: Number(gid)}
  }
  return undefined
}
