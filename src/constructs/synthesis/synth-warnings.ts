/**
 * Warnings at synthesis. cdk8s has validation errors but no channel for warnings, so they go to
 * standard error, prefixed like cdk8s's own errors with the construct path they are about. Each is
 * written once: a workload's decision by the plan that makes it (once per synthesis), an agent's
 * warnings at the first synthesis after they arose.
 */
export function warnAtSynthesis(constructPath: string, message: string): void {
  console.warn(`[${constructPath}] Warning: ${message}`);
}
