/**
 * An app imports cdk8s-plus and cdk8s-shm side by side (`import { Deployment, Cpu } from
 * 'cdk8s-plus-33'`), so no name the package exports at its top level may be one of cdk8s-plus's:
 * the pod-level types the agent and the webhook take (Cpu, EnvValue, Probe, Toleration...) live in
 * the `podspec` namespace. Read from the jsii assemblies, in every language the same.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as src from '../src';

const REPO = path.join(__dirname, '..');

function assemblyTypes(file: string): Record<string, { namespace?: string }> {
  return JSON.parse(fs.readFileSync(file, 'utf8')).types;
}

test('no type at the top level of the package has the name of a cdk8s-plus type', () => {
  const ours = assemblyTypes(path.join(REPO, '.jsii'));
  const plus = new Set(Object.keys(assemblyTypes(require.resolve('cdk8s-plus-28/.jsii'))).map(fqn => fqn.split('.').pop()));
  const topLevel = Object.keys(ours).filter(fqn => fqn.split('.').length === 2).map(fqn => fqn.split('.')[1]);
  expect(topLevel).toEqual(expect.arrayContaining(['SharedMemory', 'SharedMemoryWebhook', 'SharedMemoryAgent', 'SharedMemoryAdmissionPolicy']));
  expect(topLevel.filter(name => plus.has(name))).toEqual([]);
});

test('the pod-level types are in the podspec namespace, in JavaScript and in the assembly', () => {
  expect(src.podspec.Cpu.millis(100).amount).toBe('100m');
  expect(typeof src.podspec.EnvValue.fromValue).toBe('function');
  expect('Cpu' in src).toBe(false);
  const ours = Object.keys(assemblyTypes(path.join(REPO, '.jsii')));
  expect(ours).toEqual(expect.arrayContaining(['cdk8s-shm.podspec.Cpu', 'cdk8s-shm.podspec.Probe', 'cdk8s-shm.podspec.Toleration', 'cdk8s-shm.podspec.AgentContainer']));
});
