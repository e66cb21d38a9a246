#!/usr/bin/env node
// The `bulkhead` CLI, run from a checkout: TypeScript sources are loaded through tsx.
require('tsx/cjs');
require('../lib/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
