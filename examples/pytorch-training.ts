/**
 * PyTorch training Job. DataLoader workers (num_workers > 0) hand batches to the training process
 * through /dev/shm; with the runtime's 64 MiB they die with "bus error" or
 * "RuntimeError: DataLoader worker (pid N) is killed by signal: Bus error".
 *
 * The init container that fetches the code has no memory limit, as in most public training charts,
 * so the pod has no kubelet memory limit at all. /dev/shm is still sized: from the trainer, the
 * container that writes it (its pages are charged to the trainer's own 32Gi).
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { withSharedMemory } from 'cdk8s-shm';

export default function pytorchTraining(app: App): Chart {
  const chart = new Chart(app, 'pytorch-training', { namespace: 'ml' });
  const job = new kplus.Job(chart, 'resnet50', {
    backoffLimit: 2,
    initContainers: [{
      name: 'fetch-code',
      image: 'alpine/git:2.47.1',
      args: ['clone', '--depth=1', 'https://github.com/pytorch/examples', '/workspace/examples'],
      resources: { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) } },
    }],
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
  // Half of the trainer's 32Gi: /dev/shm of 16Gi. The init container only clones code: it needs no mount.
  withSharedMemory(job, { includeInitContainers: false });
  return chart;
}
