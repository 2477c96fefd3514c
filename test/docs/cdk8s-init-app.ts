/**
 * An app as `cdk8s init typescript-app` makes it today (cdk8s-cli 2.207.60, its
 * templates/typescript-app): the tsconfig word for word, and the dependencies it installs (cdk8s,
 * cdk8s-plus-33, constructs, TypeScript 5.9, @types/node 14). The test runners and the cdk8s CLI it
 * adds as well compile and synthesize nothing that `tsc` and `node` do not.
 */
export const CDK8S_INIT_TSCONFIG = {
  compilerOptions: {
    alwaysStrict: true,
    declaration: true,
    experimentalDecorators: true,
    inlineSourceMap: true,
    inlineSources: true,
    lib: ['es2016'],
    module: 'CommonJS',
    noEmit: false,
    noEmitOnError: true,
    noFallthroughCasesInSwitch: true,
    noImplicitAny: true,
    noImplicitReturns: true,
    noImplicitThis: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    resolveJsonModule: true,
    strict: true,
    strictNullChecks: true,
    strictPropertyInitialization: true,
    stripInternal: true,
    target: 'ES2017',
  },
  include: ['**/*.ts'],
  exclude: ['node_modules'],
};

export const CDK8S_INIT_DEPENDENCIES = {
  'cdk8s': '^2.70.0',
  'cdk8s-plus-33': '^2.5.0',
  'constructs': '^10.4.0',
  'typescript': '5.9.x',
  '@types/node': '^14',
};
