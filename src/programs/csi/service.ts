/**
 * The CSI Identity and Node services of the plugin, as gRPC handlers over `DomainMounts`.
 *
 * Ephemeral inline volumes only: no Controller service (so no CONTROLLER_SERVICE capability), no
 * staging (no STAGE_UNSTAGE_VOLUME), nothing to attach. Methods left out answer UNIMPLEMENTED
 * (grpc-js does that for any method a handler object lacks).
 *
 * Argument checks come first, in the order the spec lists the fields, then the authorization:
 * a malformed request is INVALID_ARGUMENT whoever sends it.
 */
import * as grpc from '@grpc/grpc-js';
import { authorizePublish, isRefusal } from './authorize';
import { DomainMounts } from './domain-mounts';
import { CsiError } from './errors';
import { CsiPluginOptions } from '../../contracts/csi-flags';
import type { Logger } from '../shared/log';

declare const __CDK8S_SHM_VERSION__: string | undefined;

/** The plugin's version as GetPluginInfo reports it (the package's, when bundled). */
export const PLUGIN_VERSION = typeof __CDK8S_SHM_VERSION__ === 'string' ? __CDK8S_SHM_VERSION__ : '0.0.0-source';

type Request = Record<string, any>;
type Handler = (request: Request) => Promise<Request>;

export interface CsiHandlers {
  readonly identity: grpc.UntypedServiceImplementation;
  readonly node: grpc.UntypedServiceImplementation;
}

export function csiHandlers(options: CsiPluginOptions, mounts: DomainMounts, log: Logger): CsiHandlers {
  const auth = { driverName: options.driverName, domainName: options.domainName, tenants: options.tenants };

  const identity: Record<string, Handler> = {
    GetPluginInfo: async () => ({ name: options.driverName, vendor_version: PLUGIN_VERSION, manifest: {} }),
    GetPluginCapabilities: async () => ({ capabilities: [] }),
    Probe: async () => ({ ready: { value: await mounts.ready() } }),
  };

  const node: Record<string, Handler> = {
    NodeGetCapabilities: async () => ({ capabilities: [] }),
    NodeGetInfo: async () => ({ node_id: options.nodeId, max_volumes_per_node: 0 }),
    NodePublishVolume: async request => {
      const target = required(request, 'volume_id', 'target_path');
      const capability = request.volume_capability;
      if (!capability) throw new CsiError('INVALID_ARGUMENT', 'volume_capability is required');
      if (capability.access_type === 'block' || capability.block) {
        throw new CsiError('INVALID_ARGUMENT', `${options.driverName} publishes a directory of shared memory: raw block volumes are not supported`);
      }
      const requester = authorizePublish(request.volume_context ?? {}, auth);
      if (isRefusal(requester)) {
        log.warn('publish refused', { volumeId: request.volume_id, target, reason: requester.message });
        throw new CsiError(requester.code, requester.message);
      }
      const readonly = request.readonly === true;
      const outcome = await mounts.publish(target, readonly);
      log.info(outcome === 'published' ? 'published' : 'already published', {
        namespace: requester.namespace, pod: requester.pod, serviceAccount: requester.serviceAccount, volumeId: request.volume_id, target, readonly,
      });
      return {};
    },
    NodeUnpublishVolume: async request => {
      const target = required(request, 'volume_id', 'target_path');
      const outcome = await mounts.unpublish(target);
      log.info(outcome === 'unpublished' ? 'unpublished' : 'nothing to unpublish', { volumeId: request.volume_id, target });
      return {};
    },
  };

  return { identity: toGrpc(identity, log), node: toGrpc(node, log) };
}

/** Checks that each named field is a non-empty string; returns the last one (the target path). */
function required(request: Request, ...fields: string[]): string {
  for (const field of fields) {
    if (typeof request[field] !== 'string' || request[field] === '') throw new CsiError('INVALID_ARGUMENT', `${field} is required`);
  }
  return request[fields[fields.length - 1]];
}

function toGrpc(handlers: Record<string, Handler>, log: Logger): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    implementation[name] = (call: grpc.ServerUnaryCall<Request, Request>, callback: grpc.sendUnaryData<Request>) => {
      handler(call.request).then(
        response => callback(null, response),
        (error: unknown) => {
          const csiError = error instanceof CsiError ? error : undefined;
          if (!csiError) log.error(`${name} failed`, { error });
          callback({ code: grpc.status[csiError?.status ?? 'INTERNAL'], details: (error as Error)?.message ?? String(error) });
        },
      );
    };
  }
  return implementation;
}
