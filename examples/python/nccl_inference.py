"""Tensor-parallel LLM inference (vLLM, NCCL): the Python twin of examples/nccl-inference.ts.

NCCL moves tensors between the GPU worker processes of one pod through /dev/shm; at 64 MiB it fails
with "NCCL WARN Error while creating shared memory segment ... (size N)" or a bus error. The sidecar
exports metrics and gets the mount too (all containers do by default).

The TypeScript example uses SharedMemoryDeployment (cdk8s-shm-plus-28, npm only); here a
cdk8s-plus-33 Deployment is given /dev/shm by SharedMemory.add_to, with the same result.
"""
from cdk8s import App, Chart, Size
import cdk8s_plus_33 as kplus
from cdk8s_shm import SharedMemory


def build(app: App) -> Chart:
    chart = Chart(app, "nccl-inference", namespace="inference")
    deployment = kplus.Deployment(
        chart,
        "llama-70b",
        replicas=2,
        containers=[
            kplus.ContainerProps(
                name="vllm",
                image="vllm/vllm-openai:v0.6.3",
                args=["--model", "meta-llama/Llama-3.1-70B-Instruct", "--tensor-parallel-size", "4"],
                port_number=8000,
                resources=kplus.ContainerResources(
                    cpu=kplus.CpuResources(request=kplus.Cpu.units(16), limit=kplus.Cpu.units(16)),
                    memory=kplus.MemoryResources(request=Size.gibibytes(96), limit=Size.gibibytes(96)),
                ),
                security_context=kplus.ContainerSecurityContextProps(ensure_non_root=False, read_only_root_filesystem=False),
            )
        ],
    )
    # NCCL needs a few GiB per process pair, not half of 96Gi: cap it and keep the rest for the model.
    SharedMemory.add_to(deployment, maximum=Size.gibibytes(16))
    # Added after add_to: /dev/shm is sized from the final pod at synthesis, so it is covered too.
    deployment.add_container(
        name="metrics",
        image="nvcr.io/nvidia/k8s/dcgm-exporter:3.3.8-3.6.0-ubuntu22.04",
        port_number=9400,
        resources=kplus.ContainerResources(
            memory=kplus.MemoryResources(request=Size.mebibytes(256), limit=Size.mebibytes(256)),
        ),
    )
    return chart
