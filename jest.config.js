/**
 * `npm test` runs three projects in order: `unit` (no Java, no Chromium, no network: seconds per file),
 * `integration` (real DynamoDB Local and fauxqs processes), `e2e` (the local platform, Chromium).
 * One project alone: `npx jest --selectProjects unit`.
 * @type {import('jest').Config}
 */
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testMatch: ['**/*.test.ts'],
};

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      // A unit test that starts Java (DynamoDB Local), fauxqs or Chromium fails, saying where it belongs.
      setupFilesAfterEnv: ['<rootDir>/harness/unit-isolation.ts'],
    },
    { ...base, displayName: 'integration', roots: ['<rootDir>/test/integration'] },
    { ...base, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
  ],
};
