/**
 * What the agent's domain mount looks like on a node, for everything that makes or finds it: the
 * hostPath delivery's mounter script (a construct renders it) and the CSI node plugin (a program).
 */
import { ANNOTATION_PREFIX } from '../core';

/**
 * The `source` our tmpfs carries in `/proc/self/mountinfo`: it tells our mount apart from a bind
 * of the host's own `/run` (also a tmpfs), so a restart never mistakes one for the other.
 */
export const TMPFS_SOURCE = ANNOTATION_PREFIX.replace(/\/$/, '');
