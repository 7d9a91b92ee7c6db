/**
 * Unit specs sit in test/unit, end-to-end specs (real servers and clients) in test/e2e,
 * the doors' property-based fuzz tests in test/fuzz (small and seeded here; large with
 * `npm run fuzz`).
 * ts-jest only transpiles: type checking is the build's job (npm test runs tsc first).
 */
const project = (name, pattern, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  testMatch: [pattern],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  ...extra,
});

module.exports = {
  projects: [
    project('unit', '<rootDir>/test/unit/**/*.spec.ts'),
    project('e2e', '<rootDir>/test/e2e/**/*.e2e-spec.ts', { slowTestThreshold: 30 }),
    project('fuzz', '<rootDir>/test/fuzz/**/*.fuzz-spec.ts', { slowTestThreshold: 60 }),
  ],
  testTimeout: 60000,
  // libwebrtc inside @roamhq/wrtc crashes in Node's natural exit teardown once a media
  // source existed; an explicit process.exit after the run does not.
  forceExit: true,
};
