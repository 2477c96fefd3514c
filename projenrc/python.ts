import { cdk8s } from 'projen';

/** Where the Python tasks make their virtual environment (scripts/python-env.sh). */
const VENV = '.tmp/python/venv';
/**
 * The jsii runtime runs the library in `node`, which on Node 20 prints an end-of-life banner at
 * every start; the library supports Node 20 (package.json's engines), so the tasks silence it.
 */
const ENV = { JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };
/** The wheel is built from what compile makes (.jsii, lib/, the bundles), by projen's own task. */
const BUILD_WHEEL = [{ spawn: 'compile' }, { spawn: 'package:python' }];

/**
 * The Python package as Python apps use it: `npm run python` (which CI runs; `npm test` stays
 * Node-only) and the Python examples of `npm run examples`. Both need python3 with venv, and PyPI.
 */
export function addPythonTasks(project: cdk8s.ConstructLibraryCdk8s): void {
  project.addTask('python', {
    description: 'Build the wheel (jsii-pacmak), install it with cdk8s and cdk8s-plus-33 from PyPI into a fresh virtual environment, '
      + 'run every Python example and the pytest suite (test/python); needs python3 with venv, and PyPI',
    env: ENV,
    steps: [
      ...BUILD_WHEEL,
      { exec: `scripts/python-env.sh ${VENV}` },
      { exec: `${VENV}/bin/python examples/python/synth.py` },
      // No .pytest_cache in the repository: npm pack would take it into the package.
      { exec: `${VENV}/bin/python -m pytest -p no:cacheprovider test/python`, receiveArgs: true },
    ],
  });

  // A machine without Python still synthesizes the TypeScript examples; projen's log says the
  // Python ones were skipped, after the condition that failed.
  const examples = project.addTask('examples:python', {
    description: 'Synthesize every example in examples/python to YAML (examples/python/dist) with the wheel built from the sources, and print its table',
    env: ENV,
    condition: 'python3 --version',
    steps: [
      ...BUILD_WHEEL,
      // The environment `npm run python` made, or a new one; the wheel is installed again either way.
      { exec: `scripts/python-env.sh ${VENV} --reuse` },
      { exec: `${VENV}/bin/python examples/python/synth.py` },
    ],
  });
  project.tasks.tryFind('examples')!.spawn(examples);

  project.gitignore.exclude('/examples/python/dist/', '__pycache__/');
}
