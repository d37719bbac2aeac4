#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources: in development mode oclif maps dist/index.js to src/index.ts.
// CommonJS (bin/package.json); oclif is given the package folder, as in run.js.
const path = require('node:path')
require('@oclif/core/execute').execute({development: true, dir: path.join(__dirname, '..')})
