// The next step after 'ckpt init': the commands to run, with the -j that was given.
export function nextStepHint(jobFile: string | undefined): string {
  const j = jobFile === undefined ? '' : ` -j ${/^[\w./@%+:=-]+$/.test(jobFile) ? jobFile : `'${jobFile.replaceAll("'", "'\\''")}'`}`
  return `Next: 'ckpt checkpoint take${j}' to take a checkpoint, 'ckpt run${j}' to run the job.`
}
