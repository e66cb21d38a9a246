import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import jestPlugin from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

/**
 * The layers point one way: bin → lib/cli → (lib/local | lib/release | lib/tenants | lib/targets) → lib/domain,
 * with lib/contracts (names, keys, item schemas) under everything and lib/infra (CDK) beside it.
 * Nothing shipped (lib, lambdas, bin) reaches into the harness, the tests or the benchmarks.
 */
const zone = (target, from, message) => ({ target, from, message });
const LAYERS = [
  zone(
    ['./lib', './lambdas', './bin'],
    ['./bench', './test', './harness'],
    'shipped code never imports benchmarks, tests or their harness',
  ),
  zone(
    './lib/local',
    ['./lib/cli', './lib/targets', './lib/release', './lib/tenants', './lib/infra'],
    'the local platform sits below the commands and the targets that drive it',
  ),
  zone(
    './lib/targets',
    ['./lib/cli', './lib/release', './lib/tenants', './lib/infra'],
    'a target is an adapter: it knows AWS or the local platform, not the commands or the CDK constructs',
  ),
  zone(
    ['./lib/release', './lib/tenants'],
    ['./lib/cli', './lib/infra', './lib/local'],
    'orchestration runs over target ports, never over a command or an implementation',
  ),
  zone(
    './lib/infra',
    ['./lib/cli', './lib/local', './lib/targets', './lib/release', './lib/tenants'],
    'the CDK app is built from the fleet and the contracts only',
  ),
  zone(
    './lib/domain',
    [
      './lib/cli',
      './lib/local',
      './lib/targets',
      './lib/release',
      './lib/tenants',
      './lib/infra',
      './lambdas',
    ],
    'the domain is plain logic: it depends on nothing but contracts and config types',
  ),
  zone(
    './lib/contracts',
    [
      './lib/cli',
      './lib/local',
      './lib/targets',
      './lib/release',
      './lib/tenants',
      './lib/infra',
      './lib/domain',
      './lib/config',
      './lambdas',
    ],
    'contracts are the bottom layer',
  ),
  zone(
    './lib/config',
    [
      './lib/cli',
      './lib/local',
      './lib/targets',
      './lib/release',
      './lib/tenants',
      './lib/infra',
      './lib/domain',
      './lambdas',
    ],
    'the fleet schema depends on nothing else in lib',
  ),
  zone(
    './lambdas',
    [
      './lib/cli',
      './lib/local',
      './lib/targets',
      './lib/release',
      './lib/tenants',
      './lib/infra',
      './lib/config/load.ts',
    ],
    'handlers use only the domain and the contracts',
  ),
];

/** What the domain and the contracts may not import: no AWS SDK, no CDK, no I/O. */
const PURE = {
  patterns: [
    {
      group: [
        '@aws-sdk/*',
        '@smithy/*',
        'aws-cdk-lib',
        'aws-cdk-lib/*',
        'constructs',
        'cdk-nag',
        '@aws-lambda-powertools/*',
      ],
      message: 'the domain has no AWS SDK or CDK imports',
    },
  ],
  paths: [
    'fs',
    'node:fs',
    'fs/promises',
    'node:fs/promises',
    'net',
    'node:net',
    'http',
    'node:http',
    'https',
    'node:https',
    'child_process',
    'node:child_process',
    'worker_threads',
    'node:worker_threads',
    'dgram',
    'node:dgram',
  ].map((name) => ({ name, message: 'the domain does no I/O' })),
};

/**
 * What counts as an assertion in a test: jest's `expect` (and `expect*` helpers), and the CDK `Template`
 * methods that throw on a mismatch (`template.hasResourceProperties(...)`,
 * `built.template('Bulkhead-Router').resourceCountIs(...)`). Exact method names: a bare `*.has*` would
 * also accept `Map.has`, which asserts nothing.
 */
const ASSERTIONS = [
  'expect*',
  ...[
    'hasResource',
    'hasResourceProperties',
    'hasOutput',
    'hasParameter',
    'hasMapping',
    'hasCondition',
    'resourceCountIs',
    'resourcePropertiesCountIs',
    'templateMatches',
  ].map((method) => `**.${method}`),
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'cdk.out/**',
      '**/cdk.out/**',
      'coverage/**',
      '.bulkhead/**',
      '*.config.js',
      'bin/bulkhead.js',
      'scripts/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import/order': ['error', { 'newlines-between': 'always', alphabetize: { order: 'asc' } }],
      'import/no-restricted-paths': ['error', { zones: LAYERS }],
    },
  },
  {
    // Plain CommonJS run without a TypeScript loader (a local function's worker bootstrap).
    files: ['lib/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A script the status page runs in the browser (inlined into the page with uPlot).
    files: ['lib/**/*.browser.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'fetch', 'DOMParser', 'CSS', 'setInterval', 'uPlot'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
  {
    files: ['lib/domain/**/*.ts', 'lib/contracts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', PURE] },
  },
  {
    files: ['test/**/*.ts'],
    plugins: { jest: jestPlugin },
    rules: {
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ASSERTIONS }],
    },
  },
);
