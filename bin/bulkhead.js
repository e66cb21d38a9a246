#!/usr/bin/env node
// The `bulkhead` CLI, run from a checkout: TypeScript sources are loaded through tsx.

// The AWS SDK v3 warns once per process on Node < 22 that its releases after the first week of January
// 2027 will need Node 22 (aws/aws-sdk-js-v3#7983): nine lines on every command. The versions in
// package-lock.json support Node 20, so the CLI turns that one warning off the way the SDK documents;
// every other warning still shows. Set the variable to anything else to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A reader that stops early (`bulkhead status | head`) closes the pipe: end quietly instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

require('tsx/cjs');
require('../lib/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
