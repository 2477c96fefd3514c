/**
 * The plugin's gRPC server on a unix socket: the kubelet, root on the node, is its only client, so
 * the socket is made owner-only (0600) once bound. With a registration socket the plugin also
 * registers itself with the kubelet (registration.ts), once its CSI socket serves.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { DomainMounts } from './domain-mounts';
import { csiService, loadCsi } from './proto';
import { RegistrationServer, serveRegistration } from './registration';
import { csiHandlers } from './service';
import { CsiPluginOptions } from '../../contracts/csi-flags';
import type { Logger } from '../shared/log';

export interface CsiPluginServer {
  /** Stops taking calls, lets running ones finish (up to `graceMs`), removes the socket. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions extends CsiPluginOptions {
  readonly logger: Logger;
}

export async function startCsiPlugin(options: StartOptions): Promise<CsiPluginServer> {
  const log = options.logger;
  const mounts = new DomainMounts({
    kind: options.domainKind,
    path: options.domainPath,
    sizeBytes: options.domainSizeBytes,
    targetRoot: options.targetRoot,
    stagingPath: options.stagingPath,
  }, log);
  const action = await mounts.ensureDomain();
  log.info(`domain ${action}`, { domain: options.domainName, path: options.domainPath, kind: options.domainKind, sizeBytes: options.domainSizeBytes });

  const csi = loadCsi();
  const handlers = csiHandlers(options, mounts, log);
  const server = new grpc.Server();
  server.addService(csiService(csi, 'Identity'), handlers.identity);
  server.addService(csiService(csi, 'Node'), handlers.node);

  // A socket left by a killed predecessor would make the bind fail.
  await fs.mkdir(path.dirname(options.endpoint), { recursive: true });
  await fs.rm(options.endpoint, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${options.endpoint}`, grpc.ServerCredentials.createInsecure(), error => (error ? reject(error) : resolve()));
  });
  await fs.chmod(options.endpoint, 0o600);
  log.info('serving', { endpoint: options.endpoint, driver: options.driverName, tenants: options.tenants.length });
  let registration: RegistrationServer | undefined;
  if (options.registrationSocket !== undefined && options.kubeletEndpoint !== undefined) {
    registration = await serveRegistration({
      socket: options.registrationSocket, driverName: options.driverName, kubeletEndpoint: options.kubeletEndpoint, logger: log,
    });
  }

  return {
    close: async (graceMs = 10_000) => {
      // The kubelet deregisters the driver when the socket goes: no new publish is sent here.
      await registration?.close();
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await fs.rm(options.endpoint, { force: true });
    },
  };
}
