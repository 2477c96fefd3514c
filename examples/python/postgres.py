"""PostgreSQL StatefulSet: the Python twin of examples/postgres.ts.

Parallel query workers exchange tuples through dynamic shared memory, which is POSIX shm under
/dev/shm by default (dynamic_shared_memory_type = posix); at 64 MiB a large parallel hash join fails
with "could not resize shared memory segment ... No space left on device".
"""
from cdk8s import App, Chart, Size
import cdk8s_plus_33 as kplus
from cdk8s_shm import SharedMemory


def build(app: App) -> Chart:
    chart = Chart(app, "postgres", namespace="data")
    service = kplus.Service(chart, "service", cluster_ip="None", ports=[kplus.ServicePort(port=5432)])
    db = kplus.StatefulSet(
        chart,
        "db",
        service=service,
        replicas=1,
        containers=[
            kplus.ContainerProps(
                name="postgres",
                image="postgres:16.4",
                port_number=5432,
                args=["-c", "max_parallel_workers_per_gather=4", "-c", "shared_buffers=2GB"],
                env_variables={"PGDATA": kplus.EnvValue.from_value("/var/lib/postgresql/data/pgdata")},
                resources=kplus.ContainerResources(
                    cpu=kplus.CpuResources(request=kplus.Cpu.units(4), limit=kplus.Cpu.units(4)),
                    memory=kplus.MemoryResources(request=Size.gibibytes(8), limit=Size.gibibytes(8)),
                ),
                security_context=kplus.ContainerSecurityContextProps(user=999, group=999, read_only_root_filesystem=False),
            )
        ],
    )
    data = kplus.Volume.from_empty_dir(chart, "data", "data")
    db.containers[0].mount("/var/lib/postgresql/data", data)
    # shared_buffers lives in mmap'd memory, not /dev/shm; a quarter of the limit covers parallel query.
    SharedMemory.add_to(db, ratio=0.25)
    return chart
