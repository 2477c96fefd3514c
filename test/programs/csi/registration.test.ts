/**
 * The plugin's own registration with the kubelet (src/programs/csi/registration.ts), called over a real
 * unix socket the way the kubelet's plugin watcher calls it. The bytes are checked against the
 * protobuf wire format written out here by hand from the API's field numbers
 * (k8s.io/kubelet/pkg/apis/pluginregistration/v1/api.proto), not decoded with the plugin's own
 * declaration, so a wrong name or number in it fails. e2e area 8 shows a real kubelet registering
 * the plugin and calling it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { parseCsiPluginArgs, registrationSocketName } from '../../../src/contracts/csi-flags';
import { RegistrationServer, serveRegistration } from '../../../src/programs/csi/registration';
import { createLogger } from '../../../src/programs/shared/log';

/** A length-delimited protobuf field (wire type 2) holding `text`. */
function stringField(number: number, text: string): Buffer {
  const bytes = Buffer.from(text);
  expect(bytes.length).toBeLessThan(128); // one-byte varint lengths keep this helper honest
  return Buffer.concat([Buffer.from([(number * 8) + 2, bytes.length]), bytes]);
}

let dir: string;
let server: RegistrationServer;
let client: grpc.Client;
const lines: any[] = [];
const socket = () => path.join(dir, 'plugins_registry', registrationSocketName('node-agent.cdk8s-shm.io'));

function call(method: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(`/pluginregistration.Registration/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, (error, response) => {
      if (error) reject(error);
      else resolve(response!);
    });
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-registration-'));
  server = await serveRegistration({
    socket: socket(),
    driverName: 'node-agent.cdk8s-shm.io',
    kubeletEndpoint: '/var/lib/kubelet/plugins/node-agent.cdk8s-shm.io/csi.sock',
    logger: createLogger('debug', line => lines.push(JSON.parse(line))),
  });
  client = new grpc.Client(`unix://${socket()}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the socket is named as the registrar names it, in plugins_registry, and only its owner (root: the kubelet) may dial it', () => {
  expect(path.basename(socket())).toBe('node-agent.cdk8s-shm.io-reg.sock');
  const stat = fs.statSync(socket());
  expect(stat.isSocket()).toBe(true);
  expect(stat.mode % 0o1000).toBe(0o600);
});

test('GetInfo: a CSI plugin, the driver name, the CSI socket as the kubelet sees it, and CSI 1.0.0', async () => {
  const info = await call('GetInfo', Buffer.alloc(0));
  expect(info).toEqual(Buffer.concat([
    stringField(1, 'CSIPlugin'),
    stringField(2, 'node-agent.cdk8s-shm.io'),
    stringField(3, '/var/lib/kubelet/plugins/node-agent.cdk8s-shm.io/csi.sock'),
    stringField(4, '1.0.0'),
  ]));
});

test('NotifyRegistrationStatus: what the kubelet says is remembered and logged, a refusal with its reason', async () => {
  expect(server.registered()).toBe(false);
  // plugin_registered (field 1, varint) = true
  expect(await call('NotifyRegistrationStatus', Buffer.from([0x08, 0x01]))).toEqual(Buffer.alloc(0));
  expect(server.registered()).toBe(true);
  expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'registered with the kubelet' }));

  // plugin_registered false (absent), error (field 2) set
  await call('NotifyRegistrationStatus', stringField(2, 'no CSI versions in common'));
  expect(server.registered()).toBe(false);
  expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'the kubelet refused the registration', error: 'no CSI versions in common' }));
});

test('a socket left by a killed predecessor is replaced; close removes the socket, so that the kubelet deregisters the driver', async () => {
  const other = path.join(dir, 'plugins_registry', 'stale-reg.sock');
  fs.writeFileSync(other, 'left by a killed plugin');
  const second = await serveRegistration({ socket: other, driverName: 'x.example.com', kubeletEndpoint: '/x.sock', logger: createLogger('error', () => undefined) });
  expect(fs.statSync(other).isSocket()).toBe(true);
  await second.close();
  expect(fs.existsSync(other)).toBe(false);
});

test('the flags: --registration-socket and --kubelet-endpoint go together', () => {
  const base = ['--driver-name=a.example.com', '--node-id=n', '--domain-name=a', '--domain-size=1048576', '--tenant=shop'];
  expect(parseCsiPluginArgs(base).registrationSocket).toBeUndefined();
  expect(parseCsiPluginArgs([...base, '--registration-socket=/r/a-reg.sock', '--kubelet-endpoint=/k/csi.sock'])).toMatchObject({
    registrationSocket: '/r/a-reg.sock', kubeletEndpoint: '/k/csi.sock',
  });
  expect(() => parseCsiPluginArgs([...base, '--registration-socket=/r/a-reg.sock'])).toThrow('--registration-socket and --kubelet-endpoint go together');
  expect(() => parseCsiPluginArgs([...base, '--kubelet-endpoint=relative/csi.sock', '--registration-socket=/r'])).toThrow('--kubelet-endpoint (relative/csi.sock) must be an absolute path');
});
