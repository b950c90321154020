#!/usr/bin/env node
import('../out/cli/index.js').catch((err) => {
  console.error(`unveil: ${err && err.message ? err.message : err}`)
  process.exit(1)
})
