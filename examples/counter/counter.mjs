#!/usr/bin/env node
// A small stateful task: an event counter that keeps an append-only log and a count in its
// state folder ($CKPT_STATE_DIR), checks its own consistency on start, and counts on.
//   COUNTER_INTERVAL_MS  time between events (default 50)
//   COUNTER_CRASH_AT     exit 3 when the count reaches this value (to show recovery)
//   COUNTER_CRASH_AFTER  exit 3 after this many events of this process, once: the file named by
//                        COUNTER_CRASH_ONCE_FILE (relative to the working folder) marks that it did
import * as fs from 'node:fs'
import * as path from 'node:path'

const stateDir = process.env.CKPT_STATE_DIR
if (!stateDir) {
  console.error('CKPT_STATE_DIR is not set')
  process.exit(2)
}
const id = process.env.CKPT_TASK_ID ?? path.basename(stateDir)
const logFile = path.join(stateDir, 'events.log')
const countFile = path.join(stateDir, 'count.json')
const interval = Number(process.env.COUNTER_INTERVAL_MS ?? 50)
const crashAt = process.env.COUNTER_CRASH_AT ? Number(process.env.COUNTER_CRASH_AT) : undefined
const crashAfter = process.env.COUNTER_CRASH_AFTER ? Number(process.env.COUNTER_CRASH_AFTER) : undefined
const crashOnce = process.env.COUNTER_CRASH_ONCE_FILE

fs.mkdirSync(stateDir, {recursive: true})

/** The count the state proves, or an exit when it is inconsistent. */
function recover() {
  if (!fs.existsSync(countFile)) {
    if (fs.existsSync(logFile) && fs.statSync(logFile).size > 0) fail('events.log exists without count.json')
    return 0
  }
  const {count} = JSON.parse(fs.readFileSync(countFile, 'utf8'))
  const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []
  if (lines.length < count) fail(`count.json says ${count} events but events.log holds ${lines.length}`)
  lines.forEach((line, i) => {
    if (i < count && !line.startsWith(`event ${i + 1} `)) fail(`events.log line ${i + 1} is ${JSON.stringify(line.slice(0, 40))}`)
  })
  // Events written after the last count update (a crash between the two writes) are dropped.
  if (lines.length > count)
    fs.writeFileSync(
      logFile,
      lines
        .slice(0, count)
        .map((l) => `${l}\n`)
        .join(''),
    )
  return count
}

function fail(why) {
  console.error(`state of ${id} is inconsistent: ${why}`)
  process.exit(2)
}

let count = recover()
const from = process.env.CKPT_RESTORED_FROM
console.log(`${id}: consistent at ${count} events${from ? ` (restored from ${from})` : ''}`)

const log = fs.openSync(logFile, 'a')
const startedAt = count
const tick = () => {
  count++
  fs.writeSync(log, `event ${count} ${new Date().toISOString()}\n`)
  fs.fsyncSync(log)
  const temp = `${countFile}.tmp`
  fs.writeFileSync(temp, JSON.stringify({count}))
  fs.renameSync(temp, countFile)
  if (count % 20 === 0) console.log(`${id}: ${count} events`)
  const crashNow = (crashAt !== undefined && count >= crashAt) || (crashAfter !== undefined && count - startedAt >= crashAfter && !(crashOnce && fs.existsSync(crashOnce)))
  if (crashNow) {
    if (crashOnce) fs.writeFileSync(crashOnce, `${count}\n`)
    console.error(`${id}: crashing on purpose at ${count}`)
    process.exit(3)
  }
}
const timer = setInterval(tick, interval)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    clearInterval(timer)
    fs.closeSync(log)
    console.log(`${id}: stopped at ${count} events`)
    process.exit(0)
  })
}
