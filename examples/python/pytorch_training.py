"""PyTorch training Job: the Python twin of examples/pytorch-training.ts.

DataLoader workers (num_workers > 0) hand batches to the training process through /dev/shm; with
the runtime's 64 MiB they die with "bus error" or "RuntimeError: DataLoader worker (pid N) is killed
by signal: Bus error".

The init container that fetches the code has no memory limit, as in most public training charts, so
the pod has no kubelet memory limit at all. /dev/shm is still sized: from the trainer, the container
that writes it (its pages are charged to the trainer's own 32Gi).
"""
from cdk8s import App, Chart, Size
import cdk8s_plus_33 as kplus
from cdk8s_shm import SharedMemory


def build(app: App) -> Chart:
    chart = Chart(app, "pytorch-training", namespace="ml")
    job = kplus.Job(
        chart,
        "resnet50",
        backoff_limit=2,
        init_containers=[
            kplus.ContainerProps(
                name="fetch-code",
                image="alpine/git:2.47.1",
                args=["clone", "--depth=1", "https://github.com/pytorch/examples", "/workspace/examples"],
                resources=kplus.ContainerResources(
                    cpu=kplus.CpuResources(request=kplus.Cpu.millis(100), limit=kplus.Cpu.millis(500)),
                ),
            )
        ],
        containers=[
            kplus.ContainerProps(
                name="trainer",
                image="pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
                command=["python", "train.py", "--data", "/data/imagenet", "--workers", "8", "--batch-size", "256"],
                resources=kplus.ContainerResources(
                    cpu=kplus.CpuResources(request=kplus.Cpu.units(8), limit=kplus.Cpu.units(8)),
                    # The limit covers the model and the batches in flight in /dev/shm: shm pages count against it.
                    memory=kplus.MemoryResources(request=Size.gibibytes(32), limit=Size.gibibytes(32)),
                ),
                security_context=kplus.ContainerSecurityContextProps(ensure_non_root=False, read_only_root_filesystem=False),
            )
        ],
    )
    # Half of the trainer's 32Gi: /dev/shm of 16Gi. The init container only clones code: it needs no mount.
    SharedMemory.add_to(job, include_init_containers=False)
    return chart
