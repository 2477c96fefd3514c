import { Size, SizeRoundingBehavior } from 'cdk8s';
import { formatBytes } from '../../core';

/**
 * A cdk8s `Size` as a Kubernetes quantity, exactly: `Size.gibibytes(2)` is `2Gi`,
 * `Size.mebibytes(1.5)` is `1536Mi`. (cdk8s's own `Size.asString()` came in 2.70; the package
 * supports cdk8s from 2.68.)
 */
export function sizeQuantity(size: Size): string {
  const kibibytes = size.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
  return Number.isSafeInteger(kibibytes) ? formatBytes(BigInt(kibibytes) * 1024n) : `${kibibytes}Ki`;
}

/** `sizeQuantity` of an optional size. */
export function optionalSizeQuantity(size: Size | undefined): string | undefined {
  return size === undefined ? undefined : sizeQuantity(size);
}
