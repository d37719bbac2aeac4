// The environment of a task's command and its snapshot command: ckpt's own, less the store
// credentials (an account key or a SAS is ckpt's, not the task's) unless the task asks for them.
import type {TaskSpec} from '../config/job-file.js'

/** A variable that carries ckpt's credentials for its primary store. */
export function isStoreCredential(name: string, value: string | undefined): boolean {
  return name.startsWith('AZURE_STORAGE_') || (name === 'CKPT_PRIMARY' && /[?&]sig=/i.test(value ?? ''))
}

/** ckpt's environment without store credentials, then those the task's env asks for (`true`), its env, and `vars`. */
export function taskEnvironment(task: Pick<TaskSpec, 'env' | 'inheritEnv'>, vars: Record<string, string>, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(parent)) if (!isStoreCredential(name, value)) env[name] = value
  for (const name of task.inheritEnv ?? []) if (parent[name] !== undefined) env[name] = parent[name]
  return {...env, ...task.env, ...vars}
}
