/**
 * The admission policy's warnings: a ValidatingAdmissionPolicy bound with `validationActions:
 * [Warn]`, whose failed validations reach the client as `Warning:` lines, as the webhook's warnings
 * do. It says what the core's plan lists as `unhonoured` (src/core/plan.ts): a pod's `cdk8s-shm.io/`
 * annotations that cannot be honoured, so that the pod keeps the runtime's /dev/shm (or is sized
 * without them). It reads the rule's own variables (cel.ts), so what it calls invalid is exactly
 * what the MutatingAdmissionPolicy leaves alone.
 */
import { CelExpression, lit, shm, windowsCel } from './cel';
import {
  ANNOTATIONS_WITHOUT_SETTING, ANNOTATION_PREFIX, HARDENED_MOUNT_OPTIONS, HARDEN_MOUNT_GATE_WARNING, INJECT_ANNOTATION, POD_SETTINGS, Policy,
  settingAnnotation,
} from '../../core';

/** A validation of the warning policy: its message is the warning when `expression` is false. */
export interface CelValidation {
  readonly expression: string;
  readonly messageExpression: string;
}

/** The warning policy's CEL, beside the rule's (`policyCel`). */
export interface WarningCel {
  /** Which pods: those whose annotations the rule reads (not opted out; selected, or carrying an inject of their own). */
  readonly matchConditions: readonly CelExpression[];
  /** Variables of its own, after the rule's. */
  readonly variables: readonly CelExpression[];
  readonly validations: readonly CelValidation[];
}

const KNOWN = [...POD_SETTINGS.map(settingAnnotation), ...ANNOTATIONS_WITHOUT_SETTING].sort();
const CONTAINERS = settingAnnotation('containers');
const INJECT = `variables.annotations[?${lit(INJECT_ANNOTATION)}].orValue('true')`;
/** Planning stops at an inject it cannot read (plan.ts): so do the other warnings. */
const INJECT_READ = `${INJECT} in ['true', 'false']`;

/** The warning policy for a way-in policy. */
export function warningCel(policy: Policy): WarningCel {
  const annotations = 'object.metadata.?annotations.orValue({})';
  // The annotations the ways in write (the size chosen, the declared limits, our programs' checksums) warn about nothing
  // alone: a pod that carries only those, sized before by a construct, is not evaluated. Unless the policy names containers,
  // which a pod may lack whatever it carries.
  const written = policy.input.containers === undefined ? [...ANNOTATIONS_WITHOUT_SETTING].filter(k => k !== INJECT_ANNOTATION).sort() : [];
  return {
    matchConditions: [
      {
        name: 'annotations-read',
        expression: '// Pods with annotations of ours that the rule reads (every pod where the policy asks for hardenMount, whose warning they may need):'
          + ' not opted out, and selected (or carrying an inject of their own).\n'
          + `${policy.hardenMount ? '(true || ' : ''}${annotations}.exists(k, k.startsWith(${lit(ANNOTATION_PREFIX)})${written.length > 0 ? ` && !(k in ${lit(written)})` : ''})`
          + (policy.hardenMount ? ')' : '')
          + ` && object.metadata.?annotations[?${lit(INJECT_ANNOTATION)}].orValue('') != 'false'`
          + ` && (${lit(policy.podSelection)} == 'opt-in' ? ${lit(INJECT_ANNOTATION)} in ${annotations} : true)`,
      },
    ],
    variables: [
      { name: 'unknownAnnotations', expression: `// Keys of ours that carry nothing we know (a typo, most likely).\nvariables.annotations.filter(k, k.startsWith(${lit(ANNOTATION_PREFIX)}) && !(k in ${lit(KNOWN)}))` },
      { name: 'ownAnnotations', expression: `// The pod's settings, as annotations.\n${lit(POD_SETTINGS.map(settingAnnotation))}.filter(k, k in variables.annotations)` },
      {
        name: 'unhardened',
        expression: `// With hardenMount, where the pod is sized: a target without our mount, or whose mount of ours lacks some of the hardening (${HARDENED_MOUNT_OPTIONS.join(', ')}).`
          + ' Validation runs after the mutation: this is what an API server without VolumeBindMountOptions dropped, or, before 1.37, a pod the mutation'
          + ' could not harden (its API has no bindMountOptions), which it admits unchanged.\n'
          + "variables.hardenMount && variables.decision == 'size' && !object.spec.?hostIPC.orValue(false)"
          // The rule's early exits are match conditions of the mutation, not of this policy: Windows pods and hostIPC are skipped here.
          + ` && !(${windowsCel()})`
          + ' && (size(variables.mountEdits) > 0 || variables.targets.exists(k,'
          + ' variables.containers[k].?volumeMounts.orValue([])'
          + `.exists(m, m.name == variables.targetVolumeName && ${shm('m.mountPath')} && !${lit(HARDENED_MOUNT_OPTIONS)}.all(o, o in m.?bindMountOptions.orValue([])))))`,
      },
      {
        name: 'missingContainers',
        expression: `// Containers that ${CONTAINERS} names and the pod does not have.\n`
          + 'variables.containersNamed ? variables.namedContainers.filter(n, !(n in variables.containers.map(c, c.name))) : []',
      },
    ],
    validations: [
      { expression: INJECT_READ, messageExpression: `'annotation ${INJECT_ANNOTATION} is "' + ${INJECT} + '"; use "true" or "false"'` },
      {
        expression: `!(${INJECT_READ}) || size(variables.unknownAnnotations) == 0`,
        messageExpression: "variables.unknownAnnotations.map(k, 'annotation ' + k + \" is not one of cdk8s-shm's; it is ignored\").join('; ')",
      },
      {
        expression: `!(${INJECT_READ}) || !variables.invalidSettings`,
        messageExpression: "'annotations ' + variables.ownAnnotations.join(', ') + \" cannot be honoured: the pod keeps the runtime's /dev/shm (cdk8s-shm plan says why)\"",
      },
      { expression: `!(${INJECT_READ}) || variables.invalidSettings || !variables.unhardened`, messageExpression: lit(HARDEN_MOUNT_GATE_WARNING) },
      {
        expression: `!(${INJECT_READ}) || variables.invalidSettings || size(variables.missingContainers) == 0`,
        messageExpression: "(size(variables.missingContainers) == 1 ? 'container ' : 'containers ') + variables.missingContainers.map(n, \"'\" + n + \"'\").join(', ')"
          + ` + ' named in ${CONTAINERS} ' + (size(variables.missingContainers) == 1 ? 'is' : 'are') + ' not in the pod'`,
      },
    ],
  };
}
