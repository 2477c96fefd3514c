/**
 * The CSI spec's gRPC services, from its csi.proto (src/programs/csi/proto, see the README there).
 *
 * The plugin ships as one file, so the bundle carries the proto's text (esbuild `define`, set by
 * scripts/bundle.mjs) and parses it at start with protobufjs; run from source (tests), it reads
 * the file next to this one. Either way one parser reads one text.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
// The google/protobuf files csi.proto imports, as protobufjs ships them.
import * as descriptorJson from 'protobufjs/google/protobuf/descriptor.json';

declare const __CSI_PROTO__: string | undefined;

/** The text of csi.proto. */
export function csiProtoText(): string {
  if (typeof __CSI_PROTO__ === 'string') return __CSI_PROTO__;
  return fs.readFileSync(path.join(__dirname, 'proto', 'csi.proto'), 'utf8');
}

/** The services (`csi.v1.Identity`, `csi.v1.Node`, ...) with field names as in the proto (`volume_id`). */
export function loadCsi(): grpc.GrpcObject {
  const root = new protobuf.Root();
  for (const file of ['google/protobuf/wrappers.proto', 'google/protobuf/timestamp.proto']) {
    root.addJSON(protobuf.common.get(file)!.nested!);
  }
  root.addJSON((descriptorJson as protobuf.INamespace).nested!);
  protobuf.parse(csiProtoText(), root, { keepCase: true });
  const definition = protoLoader.fromJSON(root.toJSON(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return grpc.loadPackageDefinition(definition);
}

/** The service definition of `csi.v1.<name>`. */
export function csiService(csi: grpc.GrpcObject, name: 'Identity' | 'Node' | 'Controller'): grpc.ServiceDefinition {
  const v1 = csi.csi as grpc.GrpcObject;
  return ((v1.v1 as grpc.GrpcObject)[name] as grpc.ServiceClientConstructor).service;
}
