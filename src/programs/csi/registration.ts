/**
 * The plugin registers itself with the kubelet, as `csi-node-driver-registrar` would: it serves
 * the kubelet's plugin registration API (`k8s.io/kubelet/pkg/apis/pluginregistration/v1`,
 * `pluginregistration.Registration`) on a socket in the kubelet's `plugins_registry` directory.
 * The kubelet's plugin watcher finds the socket (at once, or when it restarts: it walks the
 * directory at start), asks GetInfo for the driver's name and the CSI socket's path on the node,
 * and tells the outcome through NotifyRegistrationStatus.
 *
 * Why not the registrar: it is one more image for users to pull and trust, and a second
 * container per node, for two calls. The API is small and stable (v1 since Kubernetes 1.13); its
 * messages are declared below from the API's proto (field names and numbers), so the bundle needs
 * no file for it.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { INamespace } from 'protobufjs';
import type { Logger } from '../shared/log';

/** `pluginregistration` v1, as protobufjs JSON: the fields' names and numbers are the wire contract. */
const REGISTRATION_API: INamespace = {
  nested: {
    pluginregistration: {
      nested: {
        PluginInfo: {
          fields: {
            type: { type: 'string', id: 1 },
            name: { type: 'string', id: 2 },
            endpoint: { type: 'string', id: 3 },
            supported_versions: { rule: 'repeated', type: 'string', id: 4 },
          },
        },
        RegistrationStatus: { fields: { plugin_registered: { type: 'bool', id: 1 }, error: { type: 'string', id: 2 } } },
        RegistrationStatusResponse: { fields: {} },
        InfoRequest: { fields: {} },
        Registration: {
          methods: {
            GetInfo: { requestType: 'InfoRequest', responseType: 'PluginInfo', comment: 'the kubelet asks who the plugin is' },
            NotifyRegistrationStatus: { requestType: 'RegistrationStatus', responseType: 'RegistrationStatusResponse', comment: 'and says whether it registered it' },
          },
        },
      },
    },
  },
};

/** What the kubelet's CSI plugin handler accepts (`pkg/volume/csi/csi_plugin.go`, ValidatePlugin). */
export const CSI_PLUGIN_TYPE = 'CSIPlugin';
export const SUPPORTED_CSI_VERSIONS: readonly string[] = ['1.0.0'];

function registrationService(): grpc.ServiceDefinition {
  const definition = protoLoader.fromJSON(REGISTRATION_API, { keepCase: true, defaults: true });
  const api = grpc.loadPackageDefinition(definition).pluginregistration as grpc.GrpcObject;
  return (api.Registration as grpc.ServiceClientConstructor).service;
}

export interface RegistrationOptions {
  /** Where to serve the Registration service (in the kubelet's `plugins_registry`). */
  readonly socket: string;
  readonly driverName: string;
  /** The CSI socket's path on the node, where the kubelet will call the plugin. */
  readonly kubeletEndpoint: string;
  readonly logger: Logger;
}

interface RegistrationStatus {
  readonly plugin_registered: boolean;
  readonly error: string;
}

export interface RegistrationServer {
  /** Whether the kubelet said it registered the plugin (last NotifyRegistrationStatus). */
  registered(): boolean;
  close(): Promise<void>;
}

/** Serves the Registration service until `close()`; a socket left by a killed predecessor is replaced. */
export async function serveRegistration(options: RegistrationOptions): Promise<RegistrationServer> {
  const log = options.logger;
  let registered = false;
  const server = new grpc.Server();
  server.addService(registrationService(), {
    GetInfo: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      log.debug('kubelet asked for the plugin info', { driver: options.driverName });
      const info = { type: CSI_PLUGIN_TYPE, name: options.driverName, endpoint: options.kubeletEndpoint, supported_versions: SUPPORTED_CSI_VERSIONS };
      callback(null, info);
    },
    NotifyRegistrationStatus: (call: grpc.ServerUnaryCall<RegistrationStatus, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      registered = call.request.plugin_registered;
      if (registered) log.info('registered with the kubelet', { driver: options.driverName, endpoint: options.kubeletEndpoint });
      else log.error('the kubelet refused the registration', { driver: options.driverName, error: call.request.error });
      callback(null, {});
    },
  });
  await fs.mkdir(path.dirname(options.socket), { recursive: true });
  await fs.rm(options.socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${options.socket}`, grpc.ServerCredentials.createInsecure(), error => (error ? reject(error) : resolve()));
  });
  // Only the kubelet (root) dials it.
  await fs.chmod(options.socket, 0o600);
  log.info('registration socket ready', { socket: options.socket });
  return {
    registered: () => registered,
    close: async () => {
      server.forceShutdown();
      await fs.rm(options.socket, { force: true });
    },
  };
}
