/**
 * PyTorch training Job. DataLoader workers (num_workers > 0) hand batches to the training process
 * through /dev/shm; with the runtime's 64 MiB they die with "bus error" or
 * "RuntimeError: DataLoader worker (pid N) is killed by signal: Bus error".
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { withSharedMemory } from '../src';

export default function pytorchTraining(app: App): Chart {
  const chart = new Chart(app, 'pytorch-training', { namespace: 'ml' });
  const job = new kplus.Job(chart, 'resnet50', {
    backoffLimit: 2,
    containers: [{
      name: 'trainer',
      image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
      command: ['python', 'train.py', '--data', '/data/imagenet', '--workers', '8', '--batch-size', '256'],
      resources: {
        cpu: { request: kplus.Cpu.units(8), limit: kplus.Cpu.units(8) },
        // The limit covers the model and the batches in flight in /dev/shm: shm pages count against it.
        memory: { request: Size.gibibytes(32), limit: Size.gibibytes(32) },
      },
      securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false },
    }],
  });
  withSharedMemory(job); // 50% of 32Gi: /dev/shm of 16Gi
  return chart;
}
