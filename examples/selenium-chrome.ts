/**
 * Selenium Grid Chrome node. Chromium keeps renderer state in /dev/shm and crashes tabs
 * ("Aw, Snap!", "session deleted because of page crash") at 64 MiB; Selenium's own docs ask for
 * --shm-size=2g, which this gives explicitly.
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { SharedMemoryDeployment } from 'cdk8s-shm-plus-28';

export default function seleniumChrome(app: App): Chart {
  const chart = new Chart(app, 'selenium-chrome', { namespace: 'qa' });
  new SharedMemoryDeployment(chart, 'chrome-node', {
    replicas: 3,
    containers: [{
      name: 'chrome',
      image: 'selenium/node-chrome:4.27.0',
      portNumber: 5555,
      envVariables: {
        SE_EVENT_BUS_HOST: kplus.EnvValue.fromValue('selenium-hub'),
        SE_NODE_MAX_SESSIONS: kplus.EnvValue.fromValue('2'),
      },
      resources: {
        cpu: { request: kplus.Cpu.units(1), limit: kplus.Cpu.units(2) },
        memory: { request: Size.gibibytes(4), limit: Size.gibibytes(4) },
      },
      securityContext: { user: 1200, group: 1201, readOnlyRootFilesystem: false },
    }],
    sharedMemory: { size: Size.gibibytes(2) },
  });
  return chart;
}
