/**
 * The programs this package runs in a cluster from a ConfigMap (the webhook server, the CSI node
 * plugin): one bundled file each under lib/bundle, built by scripts/bundle.mjs. This file sits in
 * src/ and compiles to lib/, so one relative path finds them from the sources (tests) and from
 * the published package.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

const BUNDLE_DIR = path.join(__dirname, '..', '..', '..', 'lib', 'bundle');

/** Where a pod mounts the ConfigMap that holds a bundled program. */
export const BUNDLE_MOUNT = '/opt/cdk8s-shm';

/**
 * The official Node.js image that runs the bundled programs (the webhook server, the CSI node
 * plugin): Node.js 24 (Active LTS), a release after the 2026 security releases, on the Alpine the
 * official image builds it for. Renovate or Dependabot can keep it current; `nodeImage` can pin
 * it by digest.
 */
export const DEFAULT_NODE_IMAGE = 'docker.io/library/node:24.19.0-alpine3.24';

/**
 * The text of `lib/bundle/<file>`.
 * @param fix what else the user can do, e.g. "pass 'image'"
 */
export function readBundledProgram(file: string, what: string, fix?: string): string {
  const bundle = path.join(BUNDLE_DIR, file);
  if (!fs.existsSync(bundle)) {
    throw new Error(`the ${what} bundle is missing at ${bundle}: run 'npx projen compile'${fix ? ` (or ${fix})` : ''}`);
  }
  return fs.readFileSync(bundle, 'utf8');
}

/** A pod-template annotation value that changes with the program, so that a new bundle rolls the pods. */
export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
