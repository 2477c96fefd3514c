/**
 * A minimal Kubernetes API client: the self-managed TLS mode needs four calls (Secret GET/PUT,
 * MutatingWebhookConfiguration GET/PATCH), and `limitFollows` two lists (a namespace's LimitRanges
 * and ResourceQuotas, limit-guard.ts). The maintained client, @kubernetes/client-node, bundles
 * to 2 MB, twice what the ConfigMap that carries the server holds (BENCHMARKS.md, "Libraries in
 * the programs").
 *
 * In a pod it talks to KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT with the service account's
 * token and CA; tests give it the base URL, token and CA of a fake API server instead.
 */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { JsonObject } from '../../core';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A Secret, a webhook configuration or a namespace's LimitRanges and quotas are small; anything larger is not what we asked for. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface KubeClientOptions {
  /** `https://host:port`, no trailing slash. */
  readonly baseUrl: string;
  /** A fixed bearer token (tests). */
  readonly token?: string;
  /** A file to read the token from on every request: projected tokens rotate about hourly. */
  readonly tokenFile?: string;
  /** PEM of the CA that signed the API server's certificate. */
  readonly ca?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/** The API server answered with an error status. */
export class KubeApiError extends Error {
  private static reason(body: string): string {
    try {
      const status = JSON.parse(body);
      return typeof status?.message === 'string' ? `: ${status.message}` : '';
    } catch {
      return '';
    }
  }

  constructor(readonly status: number, readonly method: string, readonly path: string, readonly body: string) {
    super(`${method} ${path}: HTTP ${status}${KubeApiError.reason(body)}`);
    this.name = 'KubeApiError';
  }
}

/** Options for running in a pod, from the environment and the service account mount. */
export function inClusterOptions(env: Record<string, string | undefined> = process.env): KubeClientOptions {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('KUBERNETES_SERVICE_HOST and _PORT are not set: the webhook reaches the API server only from inside a cluster');
  return {
    baseUrl: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
    ca: readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`, 'utf8'),
  };
}

export class KubeClient {
  private readonly agent: https.Agent;

  constructor(private readonly options: KubeClientOptions) {
    this.agent = new https.Agent({ keepAlive: true, ca: options.ca, minVersion: 'TLSv1.2' });
  }

  getSecret(namespace: string, name: string): Promise<JsonObject> {
    return this.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
  }

  /** PUT with the object's resourceVersion: the API server answers 409 if someone wrote in between. */
  replaceSecret(namespace: string, name: string, secret: JsonObject): Promise<JsonObject> {
    return this.request('PUT', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, secret);
  }

  getMutatingWebhookConfiguration(name: string): Promise<JsonObject> {
    return this.request('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`);
  }

  patchMutatingWebhookConfiguration(name: string, patch: readonly object[]): Promise<JsonObject> {
    return this.request('PATCH', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`,
      patch, 'application/json-patch+json');
  }

  /** The LimitRanges of a namespace: `items` of a LimitRangeList. */
  listLimitRanges(namespace: string): Promise<JsonObject> {
    return this.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/limitranges`);
  }

  /** The ResourceQuotas of a namespace, with their status: `items` of a ResourceQuotaList. */
  listResourceQuotas(namespace: string): Promise<JsonObject> {
    return this.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/resourcequotas`);
  }

  close(): void {
    this.agent.destroy();
  }

  private request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<JsonObject> {
    const url = new URL(path, this.options.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const token = this.options.tokenFile ? readFileSync(this.options.tokenFile, 'utf8').trim() : this.options.token;
    const headers: Record<string, string> = { Accept: 'application/json', ['User-Agent']: 'cdk8s-shm-webhook' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (payload) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent, timeout: this.options.timeoutMs ?? 10_000 }, res => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`${method} ${path}: response larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new KubeApiError(status, method, path, text));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new Error(`${method} ${path}: the response is not JSON`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${this.options.timeoutMs ?? 10_000} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
