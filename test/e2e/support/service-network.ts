/**
 * Stands in for cluster DNS, for the API server only. The API server dials a webhook registered by
 * Service as `name.namespace.svc:port` (the host of its request URL, and the TLS server name it
 * verifies); started with `HTTPS_PROXY` pointing here, it sends an HTTP CONNECT for that name, and
 * this proxy forwards the bytes to what a test exposed under it: a process on 127.0.0.1, or the
 * Service's ClusterIP, which the real node's kube-proxy then sends to a ready pod. TLS stays end to
 * end between the API server and the webhook; nothing here reads it.
 *
 * It runs as a process of its own (`node -r ts-node/register/transpile-only service-network.ts
 * ROUTES LOG`, printing its port), so that a test blocking its own event loop can never stall a
 * webhook call. Routes live in a JSON file that tests edit with `exposeService`; a name without a
 * route is refused with 502, and a tunnel whose route changed is closed (the API server keeps
 * connections alive: without this it would keep talking to the old process). Every connection is
 * logged as a JSON line.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';

const LOOPBACK = '127.0.0.1';

/** `name.namespace.svc:port` -> the port of a process on 127.0.0.1, or `host:port` (a ClusterIP). */
export type ServiceRoutes = Record<string, number | string>;

/** One line of the log. */
export interface ServiceConnection {
  readonly at: string;
  readonly authority: string;
  readonly routed: boolean;
}

/** Routes `name.namespace.svc:port` to a process on 127.0.0.1 or to `host:port` (or removes the route when `target` is undefined). */
export function exposeService(
  routesFile: string, service: { name: string; namespace: string; port?: number }, target: number | string | undefined,
): void {
  const routes: ServiceRoutes = JSON.parse(fs.readFileSync(routesFile, 'utf8'));
  const key = `${service.name}.${service.namespace}.svc:${service.port ?? 443}`;
  if (target === undefined) delete routes[key];
  else routes[key] = target;
  // Replace, never rewrite in place: the proxy may read at any moment.
  fs.writeFileSync(`${routesFile}.tmp`, JSON.stringify(routes));
  fs.renameSync(`${routesFile}.tmp`, routesFile);
}

/** The connections the service network saw so far. */
export function serviceConnections(logFile: string): ServiceConnection[] {
  if (!fs.existsSync(logFile)) return [];
  return fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line));
}

function readRoutes(routesFile: string): ServiceRoutes {
  try {
    return JSON.parse(fs.readFileSync(routesFile, 'utf8'));
  } catch {
    return {};
  }
}

function serve(routesFile: string, logFile: string): void {
  fs.writeFileSync(routesFile, '{}');
  const tunnels = new Set<{ authority: string; target: number | string; client: net.Socket }>();
  setInterval(() => {
    const routes = readRoutes(routesFile);
    for (const tunnel of tunnels) if (routes[tunnel.authority] !== tunnel.target) tunnel.client.destroy();
  }, 200).unref();
  const server = http.createServer((_req, res) => res.writeHead(405).end('CONNECT only\n'));
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const authority = req.url ?? '';
    const target = readRoutes(routesFile)[authority];
    fs.appendFileSync(logFile, JSON.stringify({ at: new Date().toISOString(), authority, routed: target !== undefined }) + '\n');
    client.on('error', () => client.destroy());
    if (target === undefined) {
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const tunnel = { authority, target, client };
    tunnels.add(tunnel);
    client.on('close', () => tunnels.delete(tunnel));
    const [host, port] = typeof target === 'number' ? [LOOPBACK, target] : [target.replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(target)![1])];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (!client.writableEnded) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  server.listen(0, LOOPBACK, () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) {
  const [routesFile, logFile] = process.argv.slice(2);
  if (!routesFile || !logFile) {
    process.stderr.write('usage: service-network.ts ROUTES_FILE LOG_FILE\n');
    process.exit(2);
  }
  serve(routesFile, logFile);
}
