/**
 * An error that carries the gRPC status it must be answered with: the kubelet shows the status and
 * the message in the pod's events (`MountVolume.SetUp failed ... rpc error: code = PermissionDenied
 * desc = ...`), so the message is written for the person reading them.
 */
export type CsiStatus =
  | 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'PERMISSION_DENIED'
  | 'FAILED_PRECONDITION' | 'INTERNAL' | 'UNAVAILABLE';

export class CsiError extends Error {
  constructor(public readonly status: CsiStatus, message: string) {
    super(message);
    this.name = 'CsiError';
  }
}
