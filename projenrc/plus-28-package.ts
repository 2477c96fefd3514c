import { JsonFile, cdk8s, github } from 'projen';

/**
 * packages/cdk8s-shm-plus-28: SharedMemoryDeployment, the one construct that is a cdk8s-plus-28 type,
 * as an npm package of its own. cdk8s-shm itself declares no cdk8s-plus: jsii turns every peer
 * dependency, optional or not, into a hard requirement of the Python package, and `pip install
 * cdk8s-shm` must not bring cdk8s-plus-28 into an app on cdk8s-plus-33.
 *
 * It is plain TypeScript (tsc, not jsii): it is published to npm only, built by `compile` after jsii
 * (it reads the library's lib/index.d.ts), packed by `package` into dist/plus-28/ with the version
 * being released, and published by a release job of its own after cdk8s-shm.
 */
export const PLUS_28_DIR = 'packages/cdk8s-shm-plus-28';
export const PLUS_28_NAME = 'cdk8s-shm-plus-28';
/** Where `package` puts its tarball; the release job publishes what is there. */
export const PLUS_28_DIST = 'dist/plus-28';

export interface Plus28Versions {
  readonly cdk8s: string;
  readonly constructs: string;
  readonly cdk8sPlus28: string;
}

export function addPlus28Package(project: cdk8s.ConstructLibraryCdk8s, versions: Plus28Versions): void {
  const pkg = project.package.manifest;
  new JsonFile(project, `${PLUS_28_DIR}/package.json`, {
    obj: {
      name: PLUS_28_NAME,
      // Between releases, as cdk8s-shm's own package.json; scripts/pack-plus-28.ts writes the version
      // being released here and into the peer dependency on cdk8s-shm.
      version: '0.0.0',
      description: 'SharedMemoryDeployment: a cdk8s-plus-28 Deployment whose pods get a right-sized /dev/shm (cdk8s-shm).',
      license: pkg.license,
      author: pkg.author,
      homepage: pkg.homepage,
      bugs: pkg.bugs,
      repository: { ...pkg.repository, directory: PLUS_28_DIR },
      keywords: ['cdk8s', 'cdk8s-plus-28', 'cdk8s-shm', 'kubernetes', 'shm', 'dev-shm', 'shared-memory'],
      main: 'lib/index.js',
      types: 'lib/index.d.ts',
      files: ['lib/**/*.js', 'lib/**/*.d.ts'],
      engines: pkg.engines,
      peerDependencies: {
        'cdk8s-shm': '^0.0.0',
        'cdk8s': `^${versions.cdk8s}`,
        'constructs': `^${versions.constructs}`,
        'cdk8s-plus-28': `^${versions.cdk8sPlus28}`,
      },
    },
  });
  new JsonFile(project, `${PLUS_28_DIR}/tsconfig.json`, {
    obj: {
      extends: '../../tsconfig.json',
      compilerOptions: {
        rootDir: 'src',
        outDir: 'lib',
        types: [],
        // The library as it is published (its declarations), compiled by jsii just before.
        paths: { 'cdk8s-shm': ['../../lib/index.d.ts'] },
      },
      include: ['src/**/*.ts'],
    },
  });
  project.gitignore.exclude(`/${PLUS_28_DIR}/lib/`);
  project.eslint?.addLintPattern(PLUS_28_DIR);

  const compile = project.addTask('compile:plus-28', {
    description: `Compile ${PLUS_28_NAME} (SharedMemoryDeployment) against the library's declarations`,
    exec: `tsc -p ${PLUS_28_DIR}/tsconfig.json`,
  });
  project.compileTask.spawn(compile);
  const pack = project.addTask('package:plus-28', {
    description: `Pack ${PLUS_28_NAME} into ${PLUS_28_DIST}/ as the version of cdk8s-shm being built`,
    exec: `ts-node --project scripts/tsconfig.json scripts/pack-plus-28.ts ${PLUS_28_DIST}`,
  });
  project.packageTask.spawn(pack);
  addPlus28ReleaseJob(project);
}

/**
 * projen's release publishes dist/js (cdk8s-shm) and dist/python; this job publishes dist/plus-28 from
 * the same build artifact, after cdk8s-shm, so that its peer dependency resolves when it appears.
 */
function addPlus28ReleaseJob(project: cdk8s.ConstructLibraryCdk8s): void {
  project.release?.addJobs({
    release_npm_plus_28: {
      name: `Publish ${PLUS_28_NAME} to npm`,
      needs: ['release', 'release_npm'],
      runsOn: ['ubuntu-latest'],
      permissions: { idToken: github.workflows.JobPermission.WRITE, contents: github.workflows.JobPermission.READ },
      if: "needs.release.outputs.tag_exists != 'true' && needs.release.outputs.latest_commit == github.sha",
      steps: [
        { name: 'Setup Node.js', uses: github.ActionRefs.ACTIONS_SETUP_NODE, with: { 'node-version': project.minNodeVersion } },
        github.WorkflowSteps.downloadArtifact({
          name: 'Download build artifacts',
          with: { artifactIds: ['${{ needs.release.outputs.artifact_id }}'], path: 'dist' },
        }),
        {
          name: 'Release',
          env: {
            NPM_DIST_TAG: 'latest',
            NPM_REGISTRY: 'registry.npmjs.org',
            NPM_CONFIG_PROVENANCE: 'true',
            NPM_TOKEN: '${{ secrets.NPM_TOKEN }}',
            PUBLIB_DRYRUN: '${{ inputs.dry_run }}',
          },
          run: `npx -p publib@latest publib-npm ${PLUS_28_DIST}`,
        },
      ],
    },
  });
}
