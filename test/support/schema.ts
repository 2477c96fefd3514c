import { execFileSync } from 'child_process';
import * as path from 'path';

/** The result of validating one object against the Kubernetes OpenAPI schema. */
export interface SchemaResult {
  readonly ok: boolean;
  readonly error?: string;
  /** No schema is known for the object's apiVersion/kind (a CRD, for instance). */
  readonly noSchema?: boolean;
}

/**
 * Validates objects against the Kubernetes OpenAPI schemas (kubernetes-models, k8s 1.27+),
 * in a child node process because the library is ESM-only. One result per object, in order.
 */
export function validateAgainstSchema(objects: readonly unknown[]): SchemaResult[] {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'validate-k8s.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output);
}

/**
 * Throws with every failing object's description unless all objects validate.
 * Objects without a known schema fail too unless `allowNoSchema` lists their kinds.
 */
export function expectValidAgainstSchema(objects: readonly unknown[], allowNoSchema: readonly string[] = []): void {
  const results = validateAgainstSchema(objects);
  const failures = results.flatMap((result, index) => {
    const object = objects[index] as { kind?: string; metadata?: { name?: string } };
    if (result.ok || (result.noSchema && allowNoSchema.includes(String(object?.kind)))) return [];
    return [`${object?.kind} '${object?.metadata?.name}': ${result.error}`];
  });
  if (failures.length > 0) throw new Error(`objects fail the Kubernetes schema:\n${failures.join('\n')}`);
}
