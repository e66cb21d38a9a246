#!/usr/bin/env node
// `npm run synth`: `cdk synth` with everything that would reach for the network switched off.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const cdk = path.join(__dirname, '..', 'node_modules', 'aws-cdk', 'bin', 'cdk');
const args = ['synth', '--quiet', '--no-notices', '--no-version-reporting', ...process.argv.slice(2)];
const result = spawnSync(process.execPath, [cdk, ...args], {
  stdio: 'inherit',
  env: {
    ...process.env,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  },
});
process.exit(result.status ?? 1);
