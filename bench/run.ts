// npm run bench -- [flags]: benchmarks of ckpt side by side with the tools users would pick
// instead; writes bench/RESULTS.md and bench/results.json. See --help.
import {runBench} from './lib/bench.js'
import {parseOptions, USAGE} from './lib/options.js'
import {renderResults, resultFiles} from './lib/report.js'

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
let options
try {
  options = parseOptions(process.argv.slice(2))
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  process.exit(2)
}
if (process.argv.includes('--render')) {
  await renderResults(options.outDir, options.label)
  process.exit(0)
}
const started = Date.now()
const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`)
const results = await runBench(options, log)
const failed = results.cases.filter((c) => c.error)
const missed = results.cases.flatMap((c) => c.targets.filter((t) => t.met === false))
log(
  `wrote ${options.outDir}/${resultFiles(options.label).markdown} and ${resultFiles(options.label).json}: ${results.cases.length} cases, ${missed.length} targets missed, ${failed.length} cases failed`,
)
process.exitCode = failed.length > 0 ? 1 : 0
