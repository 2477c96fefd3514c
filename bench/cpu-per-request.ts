/**
 * CPU per admission request: what the webhook's own process spends on one AdmissionReview, against
 * the no-op floor (bench/floor-server.js) and, optionally, another build of the bundle. Where the
 * webhook shares its cores with the API server (bench/admission.ts, eight pods at a time on two
 * vCPUs), its CPU per request is what takes throughput from pod creation; unlike req/s, the
 * process's own CPU time (utime + stime from /proc/PID/stat) barely moves when other work shares
 * the machine.
 *
 * Each server runs as the construct deploys it (its Node flags, `--log-level info`, a metrics
 * port) with stdout drained by `cat`. Rounds alternate the order of the servers; each round sends
 * the same number of requests on `connections` keep-alive connections, and the tables give medians.
 *
 * Usage: ts-node --project bench/tsconfig.json bench/cpu-per-request.ts [typical|large] [connections] [requests] [rounds] [--before BUNDLE] [--flags "NODE FLAGS"]
 * where BUNDLE is another build's webhook.js, and --flags adds the webhook run with other Node
 * flags than the construct's.
 */
import { readFileSync } from 'fs';
import * as https from 'https';
import { median } from './load';
import { Payload, largePayload, typicalPayload } from './payloads';
import { ServerKind, ServerProcess, StartVariant, makeTls, startServer } from './servers';
import { WEBHOOK_NODE_FLAGS } from '../src/contracts/webhook-flags';

/** utime + stime of a process, in microseconds (clock ticks of 10 ms on Linux). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Sends `count` requests on `connections` keep-alive connections, one in flight on each. */
async function drive(port: number, payload: Payload, connections: number, count: number): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  const post = () => new Promise<void>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/mutate',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': payload.bytes },
    }, res => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload.body);
  });
  let sent = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (sent < count) {
      sent++;
      await post();
    }
  }));
  agent.destroy();
}

interface Contender {
  readonly name: string;
  readonly kind: ServerKind;
  readonly variant: StartVariant;
}

async function main(): Promise<void> {
  const valued = ['--before', '--flags'];
  const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !valued.includes(all[i - 1]));
  const [which = 'typical', connectionsText = '8', requestsText = '4000', roundsText = '5'] = positional;
  const option = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const before = option('--before');
  const flags = option('--flags');
  const payload = which === 'large' ? largePayload() : typicalPayload();
  const [connections, requests, rounds] = [Number(connectionsText), Number(requestsText), Number(roundsText)];
  const webhookVariant = (script?: string, nodeArgs: readonly string[] = WEBHOOK_NODE_FLAGS): StartVariant =>
    ({ nodeArgs: [...nodeArgs], args: ['--log-level', 'info', '--metrics-port', '0'], script });
  const contenders: Contender[] = [
    { name: 'floor', kind: 'floor', variant: { nodeArgs: [...WEBHOOK_NODE_FLAGS] } },
    { name: 'webhook', kind: 'webhook', variant: webhookVariant() },
    ...(before ? [{ name: 'before', kind: 'webhook' as const, variant: webhookVariant(before) }] : []),
    ...(flags ? [{ name: 'flags', kind: 'webhook' as const, variant: webhookVariant(undefined, flags.split(' ').filter(f => f !== '')) }] : []),
  ];
  const tls = makeTls();
  const servers = new Map<string, ServerProcess>();
  for (const c of contenders) servers.set(c.name, await startServer(c.kind, tls, payload.body, c.variant));
  const perRequest = new Map<string, number[]>(contenders.map(c => [c.name, []]));
  try {
    // Warm-up: the JIT of every server.
    for (const c of contenders) await drive(servers.get(c.name)!.port, payload, connections, Math.min(requests, 2000));
    for (let round = 0; round < rounds; round++) {
      const order = contenders.map((_c, i) => contenders[(i + round) % contenders.length]);
      for (const c of order) {
        const server = servers.get(c.name)!;
        const startCpu = cpuMicros(server.child.pid!);
        await drive(server.port, payload, connections, requests);
        perRequest.get(c.name)!.push((cpuMicros(server.child.pid!) - startCpu) / requests);
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop();
  }
  const floor = median(perRequest.get('floor')!);
  process.stdout.write(`${payload.name} (${payload.bytes} bytes), ${connections} connections, ${requests} requests x ${rounds} rounds; CPU µs per request (median):\n`);
  for (const c of contenders) {
    const values = perRequest.get(c.name)!;
    process.stdout.write(`  ${c.name.padEnd(8)} ${median(values).toFixed(1).padStart(7)}  x floor ${(median(values) / floor).toFixed(2)}  [${values.map(v => v.toFixed(0)).join(' ')}]\n`);
  }
}

main().catch(error => {
  process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
