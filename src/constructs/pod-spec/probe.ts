/**
 * Liveness, readiness and startup probes of a container. Only what is given is written: the
 * kubelet's own defaults (every 10 s, 1 s timeout, 3 failures) apply to the rest.
 */
import { Duration } from 'cdk8s';
import { methodLabel, propLabel } from '../common/language-names';

/**
 * When and how often a probe runs, and what counts as failing.
 */
export interface ProbeOptions {
  /**
   * How long after the container starts the first probe runs.
   *
   * @default - at once
   */
  readonly initialDelay?: Duration;

  /**
   * How often the probe runs.
   *
   * @default Duration.seconds(10)
   */
  readonly period?: Duration;

  /**
   * How long one probe may take.
   *
   * @default Duration.seconds(1)
   */
  readonly timeout?: Duration;

  /**
   * Failures in a row after which the probe has failed.
   *
   * @default 3
   */
  readonly failureThreshold?: number;

  /**
   * Successes in a row after a failure for the probe to pass again (must be 1 for liveness and startup probes).
   *
   * @default 1
   */
  readonly successThreshold?: number;
}

/**
 * The scheme of an HTTP probe.
 */
export enum ProbeScheme {
  /** Plain HTTP. */
  HTTP = 'HTTP',
  /** HTTPS, without verifying the certificate (as the kubelet does). */
  HTTPS = 'HTTPS',
}

/**
 * Options for `Probe.fromHttpGet()`.
 */
export interface HttpGetProbeOptions extends ProbeOptions {
  /** The container port to send the request to. */
  readonly port: number;

  /**
   * HTTP or HTTPS.
   *
   * @default ProbeScheme.HTTP
   */
  readonly scheme?: ProbeScheme;
}

/**
 * Options for `Probe.fromTcpSocket()`.
 */
export interface TcpSocketProbeOptions extends ProbeOptions {
  /** The container port that must accept a connection. */
  readonly port: number;
}

/**
 * How the kubelet checks a container.
 */
export class Probe {
  /**
   * Passes when a GET of `path` answers with a status from 200 to 399.
   *
   * @param path the request path, starting with /
   * @param options the port, the scheme and the timing
   */
  public static fromHttpGet(path: string, options: HttpGetProbeOptions): Probe {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new Error(`Probe.fromHttpGet(${JSON.stringify(path)}): give a path starting with /`);
    const scheme = options.scheme ?? ProbeScheme.HTTP;
    if (!Object.values(ProbeScheme).includes(scheme)) throw new Error(`${methodLabel('Probe', 'fromHttpGet')}: 'scheme' (${JSON.stringify(scheme)}) must be ProbeScheme.HTTP or HTTPS`);
    return new Probe({ httpGet: { path, port: probePort(options.port, 'fromHttpGet'), ...(options.scheme ? { scheme } : {}) } }, options);
  }

  /**
   * Passes when the port accepts a TCP connection.
   *
   * @param options the port and the timing
   */
  public static fromTcpSocket(options: TcpSocketProbeOptions): Probe {
    return new Probe({ tcpSocket: { port: probePort(options.port, 'fromTcpSocket') } }, options);
  }

  /**
   * Passes when the command, run in the container, exits with 0.
   *
   * @param command the command and its arguments (no shell: give `['sh', '-c', '...']` for one)
   * @param options the timing
   */
  public static fromCommand(command: string[], options: ProbeOptions = {}): Probe {
    if (!Array.isArray(command) || command.length === 0 || command.some(c => typeof c !== 'string')) {
      throw new Error(`${methodLabel('Probe', 'fromCommand')}: give the command as a non-empty list of strings`);
    }
    return new Probe({ exec: { command: [...command] } }, options);
  }

  /** @internal */
  public readonly _json: Record<string, unknown>;

  private constructor(handler: Record<string, unknown>, options: ProbeOptions) {
    const seconds = (prop: keyof ProbeOptions, value: Duration | undefined, minimum: number) => {
      if (value === undefined) return {};
      // In milliseconds first: toSeconds() would throw on a fraction without naming the prop.
      const s = value.toMilliseconds() / 1000;
      if (!Number.isInteger(s) || s < minimum) throw new Error(`${propLabel(prop)} (${s}s) of a Probe must be a whole number of seconds, at least ${minimum}`);
      return { [`${prop}Seconds`]: s };
    };
    const count = (prop: keyof ProbeOptions, value: number | undefined) => {
      if (value === undefined) return {};
      if (!Number.isInteger(value) || value < 1) throw new Error(`${propLabel(prop)} (${value}) of a Probe must be a whole number, at least 1`);
      return { [prop]: value };
    };
    this._json = {
      ...handler,
      ...seconds('initialDelay', options.initialDelay, 0),
      ...seconds('period', options.period, 1),
      ...seconds('timeout', options.timeout, 1),
      ...count('failureThreshold', options.failureThreshold),
      ...count('successThreshold', options.successThreshold),
    };
  }
}

function probePort(port: number, method: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${methodLabel('Probe', method)}: 'port' (${port}) must be a port from 1 to 65535`);
  return port;
}
