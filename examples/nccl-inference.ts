/**
 * Tensor-parallel LLM inference (vLLM, NCCL). NCCL moves tensors between the GPU worker
 * processes of one pod through /dev/shm; at 64 MiB it fails with
 * "NCCL WARN Error while creating shared memory segment ... (size N)" or a bus error.
 * The sidecar exports metrics and gets the mount too (all containers do by default).
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { SharedMemoryDeployment } from 'cdk8s-shm-plus-28';

export default function ncclInference(app: App): Chart {
  const chart = new Chart(app, 'nccl-inference', { namespace: 'inference' });
  const deployment = new SharedMemoryDeployment(chart, 'llama-70b', {
    replicas: 2,
    containers: [{
      name: 'vllm',
      image: 'vllm/vllm-openai:v0.6.3',
      args: ['--model', 'meta-llama/Llama-3.1-70B-Instruct', '--tensor-parallel-size', '4'],
      portNumber: 8000,
      resources: {
        cpu: { request: kplus.Cpu.units(16), limit: kplus.Cpu.units(16) },
        memory: { request: Size.gibibytes(96), limit: Size.gibibytes(96) },
      },
      securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false },
    }],
    // NCCL needs a few GiB per process pair, not half of 96Gi: cap it and keep the rest for the model.
    sharedMemory: { maximum: Size.gibibytes(16) },
  });
  deployment.addContainer({
    name: 'metrics',
    image: 'nvcr.io/nvidia/k8s/dcgm-exporter:3.3.8-3.6.0-ubuntu22.04',
    portNumber: 9400,
    resources: { memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) } },
  });
  return chart;
}
