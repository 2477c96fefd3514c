/**
 * The admission policy after an in-place resize (`UPDATE` of `pods/resize`): the core's
 * `planResize` (src/core/resize.ts) in CEL. `object` is the pod as the resize asks for it, and the
 * rule's variables (cel.ts) read it as they read a pod being created, so the size the rule gives
 * under the new limits is `variables.size`, written once; `oldObject` is the pod as stored, whose
 * volume's `sizeLimit` is the `/dev/shm` it has.
 *
 * Three policies use it, each matching resizes only (a pod being created pays nothing for them): a
 * MutatingAdmissionPolicy that adds the new `sizeLimit` to the resize (`resizeVolumes`), a
 * ValidatingAdmissionPolicy bound with `Warn` that says what `/dev/shm` does, and one bound with
 * `Deny` that refuses an unsafe shrink (`denyUnsafeShrink`).
 *
 * Validating policies run after every mutation: where the MutatingAdmissionPolicy added the size
 * the rule gives, they see a resize that sets `sizeLimit` itself to exactly that size, and take it
 * for the resize the core planned (`followed`). Differences from the core, all on pods no way in
 * sizes so: a resize that sets `sizeLimit` itself to exactly the rule's size under `resizeVolumes`
 * is taken for a followed one; why the rule gives no `/dev/shm` is the core's text for a size below
 * the runtime's and for a pod without a limit (what a resize can cause), a shorter one otherwise;
 * a pod with `cdk8s-shm.io/limit-follows: "true"` keeps its size as the core's does, including
 * where the core would warn that its declared limits give none; a pod whose quantities or settings
 * CEL cannot read (admission-policy-limits.ts) is left alone.
 */
import { CelExpression, UNREADABLE, bytesText, describeContainers, formatUnit, lit, quantityBytes, windowsCel, withoutLimitText } from './cel';
import { CelValidation } from './warnings-cel';
import { INJECT_ANNOTATION, MIRROR_POD_ANNOTATION, Policy, RUNTIME_DEFAULT_SHM_BYTES, SIZE_LIMIT_ANNOTATION, settingAnnotation } from '../../core';

/** The resize in CEL, beside the rule's (`policyCel`). */
export interface ResizeCel {
  /** Which resizes: those of a pod that carries the size a way in chose. */
  readonly matchConditions: readonly CelExpression[];
  /** Variables of its own, after the rule's. */
  readonly variables: readonly CelExpression[];
  /** The MutatingAdmissionPolicy's patch: the new sizeLimit, when the outcome is `resize`. */
  readonly mutation: string;
  /** The warnings, in the core's order. */
  readonly warnings: readonly CelValidation[];
  /** The refusal of an unsafe shrink. */
  readonly denial: CelValidation;
}

/** The subresource a resize arrives through. */
export const RESIZE_SUBRESOURCE = 'resize';

const SIZED = `${lit(SIZE_LIMIT_ANNOTATION)} in object.metadata.?annotations.orValue({})`;
const INJECT = `variables.annotations[?${lit(INJECT_ANNOTATION)}]`;

/** The resize for a way-in policy. */
export function resizeCel(policy: Policy): ResizeCel {
  return {
    matchConditions: [{ name: 'sized-pod', expression: `// Only a pod a way in sized (it carries ${SIZE_LIMIT_ANNOTATION}) has a /dev/shm of ours to follow.\n${SIZED}` }],
    variables: [...volumeVariables(policy), ...ruleVariables(), ...writerVariables(), ...outcomeVariables(policy)]
      .map(([name, why, expression]) => ({ name, expression: `// ${why}\n${expression}` })),
    mutation: [
      '// The new sizeLimit of our volume (resizeToPatch in resize.ts); the API server keeps it only where the gate is on.',
      "variables.resizeOutcome != 'resize' ? [] : [JSONPatch{op: 'replace',",
      "  path: '/spec/volumes/' + string(variables.resizedVolumeIndex) + '/emptyDir/sizeLimit', value: variables.ruleText}]",
    ].join('\n'),
    warnings: [
      { expression: "variables.resizeWarning == ''", messageExpression: 'variables.resizeWarning' },
      { expression: "variables.dangerWarning == ''", messageExpression: 'variables.dangerWarning' },
    ],
    denial: { expression: "variables.resizeOutcome != 'deny'", messageExpression: 'variables.denial' },
  };
}

type CelVariable = readonly [name: string, why: string, expression: string];

/** Our volume in the stored and the resized pod, and its sizeLimit in each (ourVolume in resize.ts). */
function volumeVariables(policy: Policy): CelVariable[] {
  const index = (volumes: string) => `[lists.range(size(${volumes})).filter(i, ${volumes}[i].name == variables.resizeVolumeName`
    + ` && ${volumes}[i].?emptyDir.?medium.orValue('') == 'Memory')].map(l, size(l) > 0 ? l[0] : -1)[0]`;
  const sizeLimit = (volumes: string, i: string) => `${i} < 0 ? 0 : ${quantityBytes(`${volumes}[${i}].emptyDir.?sizeLimit.orValue('0')`, 'ceil', 'spec')}`;
  return [
    ['readsSettings', "Whether planning reads the pod's settings (readPod in plan.ts): not a mirror pod, selected, and an inject it can read.",
      `!(${lit(MIRROR_POD_ANNOTATION)} in variables.annotations) && ${INJECT}.orValue('true') in ['true', 'false'] && ${INJECT}.orValue('') != 'false'`
      + ` && (${lit(policy.podSelection)} == 'opt-in' ? ${INJECT}.orValue('') == 'true' : true)`],
    ['resizeVolumeName', "Our volume's name: the pod's settings', or the policy's where planning does not read them.",
      `variables.readsSettings && !variables.invalidSettings ? variables.volumeName : ${lit(policy.volumeName)}`],
    ['storedVolumes', 'The volumes of the pod as stored.', 'oldObject.spec.?volumes.orValue([])'],
    ['storedVolumeIndex', 'Our memory-backed volume in the stored pod (-1: none).', index('variables.storedVolumes')],
    ['resizedVolumeIndex', 'And in the resized one.', index('variables.volumes')],
    ['currentBytes', 'The /dev/shm the pod has: its sizeLimit as the kubelet reads it (0: none, and nothing follows).',
      sizeLimit('variables.storedVolumes', 'variables.storedVolumeIndex')],
    ['askedBytes', 'The sizeLimit the resize asks for.', sizeLimit('variables.volumes', 'variables.resizedVolumeIndex')],
    ['currentText', 'The /dev/shm the pod has, written as formatBytes writes it.', bytesText('variables.currentBytes')],
  ];
}

/** Whether, and why not, the rule gives the resized pod a /dev/shm (the plan's reason and message). */
function ruleVariables(): CelVariable[] {
  const runtime = formatUnit(RUNTIME_DEFAULT_SHM_BYTES);
  return [
    ['shareText', 'The share of the new limits, written as formatBytes writes it.', bytesText('variables.boundedShare', true)],
    ['ruleSkip', "Why the rule gives the resized pod no /dev/shm ('': it gives one), as `reason: message` (the core's text where a resize can cause it).",
      [
        `!variables.readsSettings ? (${lit(MIRROR_POD_ANNOTATION)} in variables.annotations ? 'mirror-pod: mirror pods of static pods cannot be changed'`,
        `  : !(${INJECT}.orValue('true') in ['true', 'false']) ? 'invalid-annotation: annotation ${INJECT_ANNOTATION} is "' + ${INJECT}.orValue('') + '"; use "true" or "false"'`,
        `  : ${INJECT}.orValue('') == 'false' ? 'opted-out: the pod opted out with ${INJECT_ANNOTATION}: "false"'`,
        `  : 'not-opted-in: injection is opt-in and the pod lacks ${INJECT_ANNOTATION}: "true"')`,
        ": variables.invalidSettings ? \"invalid-annotation: the pod's cdk8s-shm.io/ annotations cannot be honoured (cdk8s-shm plan says why)\"",
        `: (${windowsCel()}) ? 'windows: Windows pods have no /dev/shm'`,
        ": object.spec.?hostIPC.orValue(false) ? \"host-ipc: the pod uses hostIPC, so /dev/shm is the node's own\"",
        ": variables.userShmMount ? 'user-shm-mount: another volume is mounted at /dev/shm'",
        ": variables.noTargets ? 'no-target-containers: none of the containers the policy names is in the pod'",
        ": variables.requestedSize > 0 ? ''",
        `: variables.sizeBytes == 0 && variables.basis > 0 ? 'below-runtime-default: ' + variables.shareText + " from the ratio is below the runtime's default ${runtime}, which the pod keeps"`,
        `: 'no-memory-limit: ' + ${withoutLimitText()}`,
        '  + (variables.podsWithoutLimit == \'deny\' ? \': set a memory limit so /dev/shm can be sized from it\' : \', so /dev/shm cannot be sized from a limit\')',
      ].join('\n')],
    ['celLimited', 'A quantity or a mount path CEL cannot read exactly (admission-policy-limits.ts): the policy leaves the resize alone.',
      'variables.quantitiesUnreadable || variables.mountPathsUnreadable'],
    ['ruleBytes', 'The size the rule gives under the new limits (0: none).', "variables.ruleSkip == '' ? variables.size : 0"],
    ['ruleText', 'Written as formatBytes writes it.', bytesText('variables.ruleBytes')],
    ['limitFollows', "The pod's limits follow its /dev/shm: the new limit is the new total, which growing it back would revert.",
      'variables.readsSettings && !variables.invalidSettings && variables.settings.limitFollows == \'true\''],
  ];
}

/** The writer whose new limit the /dev/shm the pod keeps reaches (endangeredWriter and loweredBelow in resize.ts). */
function writerVariables(): CelVariable[] {
  const beside = (limits: string) => `variables.writerTargets.filter(k, variables.roles[k] != 'init container' && ${limits}[k] > 0)`;
  return [
    ['writerTargets', "The plan's targets: none where planning stopped before choosing them.",
      "!variables.readsSettings || variables.invalidSettings || variables.ruleSkip.startsWith('windows:') || variables.ruleSkip.startsWith('host-ipc:')"
      + ' || variables.userShmMount || variables.volumeNameTaken ? [] : variables.targets'],
    ['writer', 'The target beside the application with the largest new limit, the first of them (-1: none).',
      `[${beside('variables.effectiveLimits')}].map(ks, size(ks) == 0 ? -1 : ks.filter(k, variables.effectiveLimits[k] == ks.map(j, variables.effectiveLimits[j]).max())[0])[0]`],
    ['writerBytes', 'Its new limit.', 'variables.writer < 0 ? 0 : variables.effectiveLimits[variables.writer]'],
    ['storedOwnLimits', "Each container's own memory limit as stored.",
      `(oldObject.spec.containers + oldObject.spec.?initContainers.orValue([])).map(c, ${quantityBytes("c.?resources.?limits.?memory.orValue('0')", 'ceil', 'spec')})`],
    ['storedPodLevelLimit', 'The pod-level limit as stored.', quantityBytes("oldObject.spec.?resources.?limits.?memory.orValue('0')", 'ceil', 'spec')],
    ['storedLimits', 'A container without a limit of its own counts with the pod-level limit.',
      'variables.storedOwnLimits.map(l, l > 0 ? l : variables.storedPodLevelLimit)'],
    ['storedBasis', 'The largest of them among the same targets before the resize (0: none).',
      `[${beside('variables.storedLimits')}.map(k, variables.storedLimits[k])].map(l, size(l) > 0 ? l.max() : 0)[0]`],
    ['unreadable', 'A quantity of the stored pod CEL cannot read.', `variables.storedOwnLimits.exists(l, l == ${UNREADABLE}) || variables.storedPodLevelLimit == ${UNREADABLE}`
      + ` || variables.currentBytes == ${UNREADABLE}`
      + ` || variables.askedBytes == ${UNREADABLE}`],
  ];
}

/** What happens to /dev/shm, and what the way in says (decide in resize.ts). */
function outcomeVariables(policy: Policy): CelVariable[] {
  const denyOwn = lit(policy.denyUnsafeShrink ? 'true' : '');
  return [
    ['followed', 'Validating policies run after the mutation: a sizeLimit set to exactly the size the rule gives is the one it added.',
      `${lit(policy.resizeVolumes)} && variables.askedBytes != variables.currentBytes && variables.ruleBytes > 0 && variables.askedBytes == variables.ruleBytes`
      + ' && !variables.limitFollows'],
    ['keptBytes', 'The /dev/shm the pod has after the resize, before anything of ours: a sizeLimit the resize sets itself where the cluster keeps'
      + ' it (resizeVolumes), else the current one.',
    `${lit(policy.resizeVolumes)} && variables.askedBytes > 0 && variables.askedBytes != variables.currentBytes && !variables.followed`
      + ' ? variables.askedBytes : variables.currentBytes'],
    ['keptText', 'Written as formatBytes writes it.', bytesText('variables.keptBytes')],
    ['raised', 'The resize raised /dev/shm itself.', 'variables.keptBytes > variables.currentBytes'],
    ['limitLowered', 'The /dev/shm the pod keeps is at or above the writer\'s new limit, and the resize brought one to the other:'
      + ' it lowered the limit, or raised /dev/shm.',
    'variables.writer >= 0 && variables.keptBytes >= variables.writerBytes && (variables.raised || variables.storedBasis > variables.writerBytes)'],
    ['resizeAction', 'What the volume does: not-ours, keep (the resize sets sizeLimit itself, the limits follow /dev/shm, or the rule gives none),'
      + ' unchanged, or follow.',
    [
      "variables.storedVolumeIndex < 0 || variables.resizedVolumeIndex < 0 || variables.currentBytes <= 0 || variables.celLimited || variables.unreadable ? 'not-ours'",
      "  : variables.askedBytes != variables.currentBytes && !variables.followed ? 'keep-set'",
      "  : variables.limitFollows ? 'keep-follows'",
      "  : variables.ruleBytes == 0 ? 'keep-none'",
      "  : variables.ruleBytes == variables.currentBytes ? 'unchanged'",
      "  : 'follow'",
    ].join('\n')],
    ['unsafe', 'The resize brought the /dev/shm the pod keeps and the writer\'s limit together (limitLowered), and nothing of ours undoes it.',
      `variables.resizeAction != 'not-ours' && variables.limitLowered && !(variables.resizeAction == 'follow' && ${lit(policy.resizeVolumes)})`],
    ['deniesShrink', "denyUnsafeShrink: the pod's annotation, or the policy's where its annotations cannot be read.",
      `(variables.invalidSettings ? ${denyOwn} : variables.settings.denyUnsafeShrink) == 'true'`],
    ['resizeOutcome', 'resize (the new sizeLimit is added), deny, or allow.',
      `variables.resizeAction == 'follow' && ${lit(policy.resizeVolumes)} ? 'resize' : variables.unsafe && variables.deniesShrink ? 'deny' : 'allow'`],
    ['resizeWarning', "What /dev/shm does ('': nothing to say).",
      [
        "variables.resizeOutcome == 'resize' ? '/dev/shm follows the resize: ' + variables.currentText + ' -> ' + variables.ruleText",
        "  : variables.resizeAction == 'follow' ? '/dev/shm stays ' + variables.currentText + ' until the pod is recreated; the rule gives ' + variables.ruleText + ' under the new limits'",
        "  : variables.resizeAction == 'keep-none' ? '/dev/shm stays ' + variables.currentText + ' until the pod is recreated; under the new limits the rule gives no /dev/shm ('"
        + " + variables.ruleSkip + ')'",
        "  : ''",
      ].join('\n')],
    ['writerName', 'The writer, named by its kind.', `variables.writer < 0 ? '' : ${describeContainers('[variables.writer]')}`],
    ['writerLimitText', 'Its new limit, written as formatBytes writes it.', bytesText('variables.writerBytes')],
    ['dangerWarning', 'The danger, where the resize is not refused.',
      "variables.unsafe && !variables.deniesShrink ? '/dev/shm ' + variables.keptText + ' is at or above the new ' + variables.writerLimitText + ' limit of ' + variables.writerName + ': shared memory alone can OOM-kill it' : ''"],
    ['denial', 'Why the resize is refused, and what to do.',
      [
        'variables.raised ? \'the resize sets the /dev/shm of \' + variables.writerName + \' to \' + variables.keptText + \', at or above its \'',
        `  + variables.writerLimitText + ' memory limit, so shared memory alone could OOM-kill it (${settingAnnotation('denyUnsafeShrink')}). '`,
        "  + 'Keep sizeLimit below ' + variables.writerLimitText + ', or leave it out of the resize so that the rule sizes /dev/shm from the new limits'",
        ": 'the resize lowers the memory limit of ' + variables.writerName + ' to ' + variables.writerLimitText + ', at or below its /dev/shm of ' + variables.currentText",
        `  + ', which keeps its size until the pod is recreated, so shared memory alone could OOM-kill it (${settingAnnotation('denyUnsafeShrink')}). '`,
        "  + 'Keep the limit above ' + variables.currentText + ', '",
        "  + (variables.ruleBytes > 0 ? 'recreate the pod with the new limits (the rule gives it ' + variables.ruleText + ')' : 'recreate the pod with the new limits')",
        "  + ', or, where the cluster resizes memory-backed volumes in place (Kubernetes 1.37+, InPlacePodVerticalScalingMemoryBackedVolumes), turn on resizeVolumes'",
      ].join('\n')],
  ];
}
