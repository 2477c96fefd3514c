/**
 * A third-party manifest brought in as plain YAML and fixed with applyToChart: the synth-time
 * twin of the admission webhook. Objects that cannot be sized (no memory limit, hostIPC) are left
 * as they are and reported.
 */
import * as path from 'path';
import { App, Chart, Include } from 'cdk8s';
import { SharedMemory } from 'cdk8s-shm';

export default function plainYaml(app: App): Chart {
  const chart = new Chart(app, 'plain-yaml');
  new Include(chart, 'vendor', { url: path.join(__dirname, 'manifests', 'vendor.yaml') });
  SharedMemory.applyToChart(chart);
  return chart;
}
