/**
 * `npm run test:reliability`: the reliability suite (test/reliability), against one local platform that
 * the global setup starts in a home of its own; not part of `npm test`. The files run one at a time,
 * as they take parts of the platform down.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/reliability'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  globalSetup: '<rootDir>/test/reliability/global-setup.ts',
  globalTeardown: '<rootDir>/test/reliability/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 300000,
};
