/**
 * What a server does with connections that are not (yet) requests: any pod in the cluster can
 * open them, and each one holds a file handle and, over TLS, tens of kilobytes. Every such
 * connection ends within a bound, and there are only so many at once:
 *
 * - a TLS handshake must finish within `HANDSHAKE_TIMEOUT_MS` (a silent or dribbling client is
 *   cut off; Node's default is 120 s);
 * - a socket that fails its handshake or sends what is not HTTP is destroyed, not merely ended:
 *   `end()` waits for the client's FIN, which a half-open client never sends;
 * - an HTTP error answer (400, 408, 431) gets `LINGER_MS` to reach the client, then the socket goes;
 * - at most `maxConnections` connections in all, and `maxConnectionsPerClient` from one address,
 *   so that one noisy pod cannot take the slots of the API servers.
 *
 * The headers timeout (the HTTP layer's) bounds a connection that completed its handshake but sends
 * no request, or sends it slowly.
 */
import { Server as NetServer, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * How long a TLS handshake may take, counted from accept (Node's handshake timer is not reset while
 * the handshake progresses). The API server's own client gives a handshake 10 s (client-go's
 * transport, `TLSHandshakeTimeout`), and the server must never be the stricter side: a client
 * whose process is starved of CPU can stall that long with a handshake half done. At 5 s, the fuzz
 * suite beside a CPU hog saw exactly that: its client process stalled 4 to 6 s on its own work, the
 * server's loop never more than 0.5 s, and the server cut the clients' pending handshakes (ECONNRESET
 * before the secure connection, for the requests that were to carry 1.7 and 3 MB bodies). Silent
 * and dribbling clients are still cut off within this bound, and the connection caps hold meanwhile.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Long enough for an error answer to drain to a client that reads; a client that does not read gets no longer. */
const LINGER_MS = 2_000;

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
}

export interface ConnectionEvents {
  /** A connection refused at accept: `total` over maxConnections, `client` over maxConnectionsPerClient. */
  readonly onRefused: (limit: 'total' | 'client') => void;
  /** An HTTP error answered by the HTTP layer before any route (400, 408, 431). */
  readonly onHttpError: (status: number) => void;
  /** A handshake that failed or timed out. */
  readonly onHandshakeFailure: (error: Error) => void;
  /** The count of open connections changed. */
  readonly onOpenConnections: (open: number) => void;
}

/**
 * Applies the limits and the error handling above to a server (HTTPS or plain HTTP). Call before
 * `listen()`.
 */
export function guardConnections(server: NetServer, limits: ConnectionLimits, events: ConnectionEvents): void {
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => events.onRefused('total'));

  const perClient = new Map<string, number>();
  let open = 0;
  // First among the listeners, so that a refused socket never starts a handshake.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (perClient.get(address) ?? 0) + 1;
    perClient.set(address, count);
    events.onOpenConnections(++open);
    socket.once('close', () => {
      events.onOpenConnections(--open);
      const left = (perClient.get(address) ?? 1) - 1;
      if (left > 0) perClient.set(address, left);
      else perClient.delete(address);
    });
    if (count > limits.maxConnectionsPerClient) {
      events.onRefused('client');
      socket.destroy();
    }
  });

  const established = new WeakSet<Socket>();
  server.on('secureConnection', (socket: TLSSocket) => established.add(socket));

  // The HTTPS server sends TLS handshake failures here too, with the half-made TLS socket.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const handshaken = !(socket instanceof TLSSocket) || established.has(socket);
    if (!handshaken) {
      events.onHandshakeFailure(error);
      socket.destroy();
      return;
    }
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    events.onHttpError(status);
    const reason = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  });
}
