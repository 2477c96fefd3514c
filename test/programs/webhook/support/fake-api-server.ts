/**
 * A fake kube-apiserver with only the endpoints the webhook uses: for self-managed TLS one Secret
 * (GET, PUT with resourceVersion checks, answering 409 Conflict like the real one) and one
 * MutatingWebhookConfiguration (GET, PATCH with an RFC 6902 patch, `test` ops included); for
 * `limitFollows` the lists of LimitRanges and ResourceQuotas of any namespace.
 */
import { once } from 'events';
import * as https from 'https';
import { AddressInfo } from 'net';
import { applyPatch, deepClone } from 'fast-json-patch';
import { makeTls } from './tls';

export const TOKEN = 'fake-service-account-token';

export interface Call {
  readonly method: string;
  readonly path: string;
  status: number;
}

export class FakeApiServer {
  secret: any;
  configuration: any;
  readonly calls: Call[] = [];
  /** Hold Secret GETs until this many wait, then answer them together: replicas racing. */
  holdSecretGets = 0;
  /** Answer every request with this status (RBAC or a missing object). */
  failWith?: { status: number; reason: string };
  /** LimitRanges and ResourceQuotas by namespace, as the lists return them. */
  readonly limitRanges = new Map<string, any[]>();
  readonly quotas = new Map<string, any[]>();
  /** Leave list requests unanswered: an API server that does not answer in time. */
  hangLists = false;
  private held: Array<() => void> = [];
  private readonly tls = makeTls('fake-api');
  private server?: https.Server;
  private version = 1;

  constructor(readonly namespace = 'cdk8s-shm', readonly secretName = 'webhook-tls', readonly configurationName = 'cdk8s-shm') {
    // What the construct pre-creates, as the real API server returns it (test/e2e): an Opaque
    // Secret without data (a kubernetes.io/tls Secret cannot be created empty, and `type` is
    // immutable), and a configuration without caBundle.
    this.secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: secretName, namespace, resourceVersion: String(this.version), labels: { 'app.kubernetes.io/name': 'cdk8s-shm-webhook' } },
    };
    this.configuration = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: configurationName, resourceVersion: '1' },
      webhooks: ['pods.cdk8s-shm.io', 'pods-opt-in.cdk8s-shm.io'].map(name => ({
        name,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Ignore',
        clientConfig: { service: { name: 'cdk8s-shm-webhook', namespace, path: '/mutate', port: 443 } },
      })),
    };
  }

  get ca(): string {
    return this.tls.caPem;
  }

  async start(): Promise<string> {
    this.server = https.createServer({ cert: this.tls.certPem, key: this.tls.keyPem }, (req, res) => {
      let body = '';
      req.on('data', chunk => (body += chunk));
      req.on('end', () => this.handle(req.method ?? '', req.url ?? '', req.headers, body, res));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    this.server?.close();
  }

  /** Writes the Secret as another party would (bumping its resourceVersion). */
  writeSecretData(data: Record<string, string>): void {
    this.secret = { ...this.secret, data, metadata: { ...this.secret.metadata, resourceVersion: String(++this.version) } };
  }

  caBundles(): string[] {
    return this.configuration.webhooks.map((w: any) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString());
  }

  count(method: string, status?: number): number {
    return this.calls.filter(c => c.method === method && (status === undefined || c.status === status)).length;
  }

  private handle(method: string, path: string, headers: Record<string, unknown>, body: string, res: any): void {
    const call: Call = { method, path, status: 0 };
    this.calls.push(call);
    const reply = (status: number, object: unknown) => {
      call.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(object));
    };
    const status = (code: number, reason: string, message: string) => reply(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
    if (headers.authorization !== `Bearer ${TOKEN}`) return status(401, 'Unauthorized', 'Unauthorized');
    if (this.failWith) return status(this.failWith.status, this.failWith.reason, `${this.failWith.reason} (fake)`);

    const secretPath = `/api/v1/namespaces/${this.namespace}/secrets/${this.secretName}`;
    const configurationPath = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${this.configurationName}`;
    if (path === secretPath && method === 'GET') {
      const answer = () => reply(200, deepClone(this.secret));
      if (this.holdSecretGets > 0) {
        this.held.push(answer);
        if (this.held.length >= this.holdSecretGets) {
          this.holdSecretGets = 0;
          this.held.splice(0).forEach(release => release());
        }
        return;
      }
      return answer();
    }
    if (path === secretPath && method === 'PUT') {
      const secret = JSON.parse(body);
      if (secret.metadata?.resourceVersion !== this.secret.metadata.resourceVersion) {
        return status(409, 'Conflict', `Operation cannot be fulfilled on secrets "${this.secretName}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      if (secret.type !== this.secret.type) return status(422, 'Invalid', 'field is immutable: type');
      this.secret = { ...secret, metadata: { ...secret.metadata, resourceVersion: String(++this.version) } };
      return reply(200, deepClone(this.secret));
    }
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/(limitranges|resourcequotas)$/.exec(path);
    if (list && method === 'GET') {
      if (this.hangLists) return;
      const [kind, objects] = list[2] === 'limitranges' ? ['LimitRangeList', this.limitRanges] : ['ResourceQuotaList', this.quotas];
      return reply(200, { apiVersion: 'v1', kind, metadata: { resourceVersion: '1' }, items: deepClone(objects.get(decodeURIComponent(list[1])) ?? []) });
    }
    if (path === configurationPath && method === 'GET') return reply(200, deepClone(this.configuration));
    if (path === configurationPath && method === 'PATCH') {
      if (headers['content-type'] !== 'application/json-patch+json') return status(415, 'UnsupportedMediaType', 'expected a JSON patch');
      try {
        this.configuration = applyPatch(deepClone(this.configuration), JSON.parse(body), true, false).newDocument;
      } catch (error) {
        return status(422, 'Invalid', String(error));
      }
      return reply(200, deepClone(this.configuration));
    }
    return status(404, 'NotFound', `${path} not found`);
  }
}
