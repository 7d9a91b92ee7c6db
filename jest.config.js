/**
 * Unit specs sit in test/unit, end-to-end specs (real servers and clients) in test/e2e.
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
  ],
  testTimeout: 60000,
  // libwebrtc inside @roamhq/wrtc crashes in Node's natural exit teardown once a media
  // source existed; an explicit process.exit after the run does not.
  forceExit: true,
};
