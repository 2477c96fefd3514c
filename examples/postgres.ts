/**
 * PostgreSQL StatefulSet. Parallel query workers exchange tuples through dynamic shared memory,
 * which is POSIX shm under /dev/shm by default (dynamic_shared_memory_type = posix); at 64 MiB a
 * large parallel hash join fails with "could not resize shared memory segment ... No space left on device".
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { SharedMemory } from 'cdk8s-shm';

export default function postgres(app: App): Chart {
  const chart = new Chart(app, 'postgres', { namespace: 'data' });
  const service = new kplus.Service(chart, 'service', { clusterIP: 'None', ports: [{ port: 5432 }] });
  const db = new kplus.StatefulSet(chart, 'db', {
    service,
    replicas: 1,
    containers: [{
      name: 'postgres',
      image: 'postgres:16.4',
      portNumber: 5432,
      args: ['-c', 'max_parallel_workers_per_gather=4', '-c', 'shared_buffers=2GB'],
      envVariables: { PGDATA: kplus.EnvValue.fromValue('/var/lib/postgresql/data/pgdata') },
      resources: {
        cpu: { request: kplus.Cpu.units(4), limit: kplus.Cpu.units(4) },
        memory: { request: Size.gibibytes(8), limit: Size.gibibytes(8) },
      },
      securityContext: { user: 999, group: 999, readOnlyRootFilesystem: false },
    }],
  });
  const data = kplus.Volume.fromEmptyDir(chart, 'data', 'data');
  db.containers[0].mount('/var/lib/postgresql/data', data);
  // shared_buffers lives in mmap'd memory, not /dev/shm; a quarter of the limit covers parallel query.
  SharedMemory.addTo(db, { ratio: 0.25 });
  return chart;
}
