// How a run is stopped from outside: SIGINT, SIGTERM or --duration, and the exit code of each.

export type StopReason = 'SIGINT' | 'SIGTERM' | 'duration'

/** 130 ('interrupted' in docs/CONTRACT.md) on SIGINT and SIGTERM alike, 0 after --duration. */
export const STOP_EXIT: Record<StopReason, number> = {SIGINT: 130, SIGTERM: 130, duration: 0}

/** Routes SIGINT and SIGTERM to handler instead of ending the process; returns the uninstaller. */
export function onStopSignals(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void {
  const onInt = () => handler('SIGINT')
  const onTerm = () => handler('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  return () => {
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
  }
}
