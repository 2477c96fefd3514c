/**
 * Warnings at synthesis. cdk8s has validation errors but no channel for warnings, so they go to
 * standard error, prefixed like cdk8s's own errors with the construct path they are about. Each is
 * written once per synthesis: by the plan that makes it, which runs once per synthesis.
 */
export function warnAtSynthesis(constructPath: string, message: string): void {
  console.warn(`[${constructPath}] Warning: ${message}`);
}
