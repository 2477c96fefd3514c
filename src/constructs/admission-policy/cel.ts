/**
 * The sizing rule in CEL, for the MutatingAdmissionPolicy (admissionregistration.k8s.io/v1,
 * Kubernetes 1.36) that sizes `/dev/shm` inside the API server, and the ValidatingAdmissionPolicy
 * that refuses the pods the rule denies.
 *
 * Everything is generated from the core: the policy's settings (a resolved `Policy`), the
 * annotation names, the volume name, the mount path, the runtime default, the Windows signs, the
 * units a size is written in. The steps of planSharedMemory (src/core/plan.ts) are named
 * variables, in the same order, with a comment in the expression itself, so that the policy reads
 * like the rule in a cluster as well; a step read once or twice is written where it is read, and
 * loops read no variable they can do without: the API server pays for every variable it evaluates
 * and every read of one, on every pod (BENCHMARKS.md, pod creation). Where CEL cannot follow the
 * rule exactly (large or fine quantities, `..` in mount paths; src/core/admission-policy-limits.ts)
 * the pod is left alone: `decision` is `skip`, and the patch is empty.
 *
 * The expressions rely on CEL as Kubernetes 1.34 and later offer it (optional fields, the
 * quantity library, two-variable comprehensions, `lists.range`, `flatten`, `slice`), and are
 * evaluated with the API server's own code in test/admission-policy-cel.test.ts.
 */
import {
  ANNOTATION_PREFIX, BINARY_SUFFIXES, BOOLEAN_SETTINGS, CONTAINER_ROLES, DEFAULT_RATIO, DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_PATTERN,
  HARDENED_MOUNT_OPTIONS, HOST_PROCESS_CONTAINER_FIELDS,
  INJECT_ANNOTATION, MAX_INPUT_LENGTH,
  MIRROR_POD_ANNOTATION, OS_LABELS, POD_SETTINGS, POLICY_QUANTITY_BOUND, POLICY_RATIO_DIGITS, POLICY_RATIO_PATTERN, Policy, PolicyError,
  PolicySetting, QUANTITY_SETTINGS, RATIO_SIZE_UNIT_BYTES, RUNTIME_DEFAULT_SHM_BYTES, SETTING_RULES, SHM_MOUNT_PATH, SIZE_LIMIT_ANNOTATION,
  SettingRule, TRIM_DISAGREEMENTS, WINDOWS, WITHOUT_LIMIT_MODES, excludedSettings, policyReadsQuantity, policyReadsRatio, resolvePolicy,
  settingAnnotation, settingText,
} from '../../core';

/** A named CEL expression: a variable, or a match condition. */
export interface CelExpression {
  readonly name: string;
  readonly expression: string;
}

/** The rule in CEL. */
export interface PolicyCel {
  /** Which pods the policies consider at all: not mirror pods, and the pod selection's annotation. */
  readonly matchConditions: readonly CelExpression[];
  /** The rule, step by step; each refers only to the ones before it. */
  readonly variables: readonly CelExpression[];
  /** The mutation: a list of JSONPatch operations, empty when there is nothing to do. */
  readonly mutation: string;
  /**
   * The hardening policy's mutation: with hardenMount, the bindMountOptions of the mounts of ours,
   * as an apply configuration (an empty one when there is nothing to do).
   */
  readonly hardening: string;
  /**
   * Which pods the hardening policy considers beyond matchConditions: every pod where the policy
   * asks for hardenMount, else only those with the annotation, so that the others cost nothing.
   */
  readonly hardeningConditions: readonly CelExpression[];
  /**
   * Which pods the validating policy considers beyond those: only where a denial is possible (the
   * policy denies pods without a limit, or the pod has its own cdk8s-shm.io/pods-without-limit), so
   * that the others cost no evaluation of the rule.
   */
  readonly denialConditions: readonly CelExpression[];
  /** The validation: true unless the rule denies the pod. */
  readonly admitted: string;
  /** The message of a denial. */
  readonly denialMessage: string;
}

/** A quantity the policy cannot read (see admission-policy-limits.ts); below any valid value. */
export const UNREADABLE = -POLICY_QUANTITY_BOUND;
const BILLION = 1_000_000_000n;
/** The ratio as the policy holds it: in billionths. */
const RATIO_SCALE_SUFFIX = 'G';

/**
 * The rule in CEL for a way-in policy.
 * @throws PolicyError when a setting cannot be expressed (a ratio with more than 9 decimal places)
 */
export function policyCel(policy: Policy): PolicyCel {
  checkExpressible(policy);
  return {
    matchConditions: [
      // The kubelet creates mirror pods for static pods; their spec cannot change.
      { name: 'not-a-mirror-pod', expression: `!(${lit(MIRROR_POD_ANNOTATION)} in object.metadata.?annotations.orValue({}))` },
      {
        name: 'not-limit-follows',
        expression: '// Growing limits needs the LimitRange and ResourceQuota, which CEL cannot read (admission-policy-limits.ts).\n'
          + `object.metadata.?annotations[?${lit(settingAnnotation('limitFollows'))}].orValue('') != 'true'`,
      },
      {
        name: 'selected-pod',
        expression: `// Opt-out takes every pod but those annotated ${INJECT_ANNOTATION}: "false", opt-in only those annotated "true"`
          + ' (the core refuses any other value).\n'
          + `object.metadata.?annotations[?${lit(INJECT_ANNOTATION)}].orValue(${lit(policy.podSelection)} == 'opt-in' ? '' : 'true') == 'true'`,
      },
      ...earlyExits(policy),
    ],
    variables: [
      ...settingVariables(policy),
      ...podShapeVariables(),
      ...targetVariables(),
      ...limitVariables(),
      ...sizeVariables(),
      ...editVariables(),
    ].map(([name, why, expression]) => ({ name, expression: `// ${why}\n${expression}` })),
    mutation: mutationExpression(),
    hardening: hardeningExpression(),
    hardeningConditions: [{
      name: 'may-be-hardened',
      expression: '// Every pod where the policy asks for hardenMount, else only those with the annotation (the variables read its value).\n'
        + `${policy.hardenMount ? 'true' : 'false'} || ${lit(settingAnnotation('hardenMount'))} in object.metadata.?annotations.orValue({})`,
    }],
    denialConditions: [{
      name: 'may-be-denied',
      expression: `${lit(policy.podsWithoutLimit)} == 'deny' || ${lit(settingAnnotation('podsWithoutLimit'))} in object.metadata.?annotations.orValue({})`,
    }],
    admitted: "variables.decision != 'deny'",
    denialMessage: [
      '// The core\'s message (withoutLimitText in plan.ts), containers named by their kind.',
      withoutLimitText(),
      "  + ': set a memory limit so /dev/shm can be sized from it'",
    ].join('\n'),
  };
}

/**
 * Match conditions that leave alone, before any variable is evaluated, the pods the rule skips
 * whatever else they hold: a cheap condition costs far less than evaluating the rule, and a pod no
 * policy matches is not even re-encoded for a patch.
 */
function earlyExits(policy: Policy): CelExpression[] {
  const limit = (c: string) => `${c}.?resources.?limits.?memory.orValue('') != ''`;
  return [
    {
      name: 'has-runtime-shm',
      expression: '// Windows pods have no /dev/shm (the OS field, a node selector, required node affinity or a hostProcess container says so);\n'
        + "// with hostIPC, /dev/shm is the node's own (windows.ts): the rule skips both.\n"
        + `!(${windowsCel()}) && !object.spec.?hostIPC.orValue(false)`,
    },
    {
      // Without a limit anywhere, only a size (the policy's or the pod's) or pods-without-limit can ask for /dev/shm.
      name: 'may-be-sized',
      expression: '// A pod without any memory limit, under a policy and annotations that give such a pod nothing, is skipped: there is nothing to size from.\n'
        + `${lit(policy.podsWithoutLimit)} != 'skip' || ${lit(ownSetting(policy, 'size'))} != ''`
        + ` || (object.spec.containers + object.spec.?initContainers.orValue([])).exists(c, ${limit('c')}) || ${limit('object.spec')}`
        + ` || ${lit([settingAnnotation('size'), settingAnnotation('podsWithoutLimit')])}.exists(k, k in object.metadata.?annotations.orValue({}))`,
    },
  ];
}

/** Why a pod has no basis, as withoutLimitText in plan.ts says it (CEL, over `variables.targets`). */
export function withoutLimitText(): string {
  return ["[variables.targets.filter(k, variables.roles[k] != 'init container')].map(beside, size(beside) == 0",
    `  ? 'only init containers get the mount (' + ${describeContainers('variables.targets')} + '), and they do not set the size'`,
    `  : ${describeContainers('beside')} + (size(beside) == 1 ? ' has' : ' have') + ' no memory limit')[0]`].join('\n');
}

/** Whether the pod is a Windows pod (windows.ts). */
export function windowsCel(): string {
  return orLines(
    `object.spec.?os.?name.orValue('') == ${lit(WINDOWS)}`,
    `${lit(OS_LABELS)}.exists(k, object.spec.?nodeSelector[?k].orValue('') == ${lit(WINDOWS)})`,
    '[object.spec.?affinity.?nodeAffinity.?requiredDuringSchedulingIgnoredDuringExecution.?nodeSelectorTerms.orValue([])]'
    + `.exists(terms, size(terms) > 0 && terms.all(t, t.?matchExpressions.orValue([]).exists(e, e.key in ${lit(OS_LABELS)} && e.operator == 'In'`
    + ` && size(e.?values.orValue([])) > 0 && e.values.all(v, v == ${lit(WINDOWS)}))))`,
    'object.spec.?securityContext.?windowsOptions.?hostProcess.orValue(false)',
    `(${HOST_PROCESS_CONTAINER_FIELDS.map(f => `object.spec.?${f}.orValue([])`).join(' + ')}).exists(c, c.?securityContext.?windowsOptions.?hostProcess.orValue(false))`,
  );
}

/** A variable of the policy: its name, why it is there (a comment in the policy), its CEL. */
type CelVariable = readonly [name: string, why: string, expression: string];

/** The policy's own setting as text, as the webhook's flags and the pod's annotations write it ('': not given). */
function ownSetting(policy: Policy, s: PolicySetting): string {
  return policy.input[s] === undefined ? '' : settingText(policy.input[s]!);
}

/** Refuses the settings CEL cannot read exactly, naming the one. */
function checkExpressible(policy: Policy): void {
  const ratio = ownSetting(policy, 'ratio');
  if (ratio !== '' && !policyReadsRatio(ratio)) {
    throw new PolicyError(`'ratio' (${ratio}) must be a decimal of at most ${POLICY_RATIO_DIGITS} places, without an exponent, in an admission policy`);
  }
  for (const s of QUANTITY_SETTINGS) {
    const value = ownSetting(policy, s);
    if (value !== '' && !policyReadsQuantity(value)) {
      throw new PolicyError(`'${s}' (${value}) must be below ${formatUnit(POLICY_QUANTITY_BOUND)} in an admission policy, which reads no larger quantity exactly`);
    }
  }
}

/** The settings that pin a pod's own adopted /dev/shm: its volume's name and the containers that mount it. */
const PINNED: readonly PolicySetting[] = ['volumeName', 'containers'];
const has = (s: PolicySetting) => `${lit(settingAnnotation(s))} in variables.annotations`;
const annotation = (s: PolicySetting) => `variables.annotations[${lit(settingAnnotation(s))}]`;
const given = (s: PolicySetting) => `variables.settings.${s} != ''`;
const orDefault = (s: PolicySetting, value: string) => `${given(s)} ? variables.settings.${s} : ${value}`;
/** A boolean setting, or its default. */
const flag = (s: 'includeInitContainers' | 'sizeUnboundedShm') => `(${given(s)} ? variables.settings.${s} == 'true' : ${resolvePolicy()[s]})`;
/** A quantity setting in bytes (0: none). */
const settingBytes = (s: PolicySetting) => `variables.settingBytes[?${lit(s)}].orValue(0)`;
const SHM_SEGMENTS = SHM_MOUNT_PATH.split('/').filter(e => e !== '');
/** Whether a path cleans to /dev/shm. A path cleans to it only if it holds 'shm': most paths are told apart without splitting them. */
export const shm = (path: string): string => `${path}.contains(${lit(SHM_SEGMENTS[SHM_SEGMENTS.length - 1])}) && ${path}.startsWith('/')`
  + ` && ${path}.split('/').filter(e, e != '' && e != '.') == ${lit(SHM_SEGMENTS)}`;
/** The index of the volume of that name (-1: none): the indexes that match, then -1, the first of them. */
const volumeIndex = (name: string) => `(variables.volumes.transformList(i, v, v.name == ${name}, i) + [-1])[0]`;

/** Step 0: the pod's own say, merged onto the policy (pod-policy.ts), and each setting read. */
function settingVariables(policy: Policy): CelVariable[] {
  const defaults = resolvePolicy();
  const setting = (s: PolicySetting) => {
    // As the core merges (pod-policy.ts): an annotated setting drops the policy's settings it excludes.
    const excluded = excludedSettings(s);
    return `${lit(s)}: ${has(s)} ? ${annotation(s)} : ${excluded.length > 0 ? `${or(...excluded.map(has))} ? '' : ` : ''}variables.policy.${s}`;
  };
  return [
    ['policy', "The policy's own settings, as text as the webhook's flags and the pod's annotations write them ('': not given).",
      `{${POD_SETTINGS.map(s => `${lit(s)}: ${lit(ownSetting(policy, s))}`).join(', ')}}`],
    ['annotations', "The pod's annotations (none when it has no map).", 'object.metadata.?annotations.orValue({})'],
    ['annotated', "Whether the pod annotates a setting. Most do not: their settings are the policy's, which the construct checked."
      + ' A pod has few annotations, and fewer of ours: only those are looked up among the settings.',
    `variables.annotations.exists(k, k.startsWith(${lit(ANNOTATION_PREFIX)}) && k in ${lit(POD_SETTINGS.map(settingAnnotation))})`],
    ['settings', "Each setting for this pod ('': not given): its annotation, or the policy's unless the pod annotates one that excludes it "
      + '(an exact size excludes a share and its bounds, and the other way round).',
    `!variables.annotated ? variables.policy : {\n  ${POD_SETTINGS.map(setting).join(',\n  ')}\n}`],
    ['ratioBillionths', `The share of the basis (default ${DEFAULT_RATIO}) in billionths: the ratio read as the quantity '<ratio>${RATIO_SCALE_SUFFIX}'.`,
      `[${orDefault('ratio', lit(DEFAULT_RATIO))}].map(t, t.matches(${lit(POLICY_RATIO_PATTERN)}) && t.matches('[0-9]') && quantity(t + '${RATIO_SCALE_SUFFIX}').isInteger()`
      + ` ? quantity(t + '${RATIO_SCALE_SUFFIX}').asInteger() : ${UNREADABLE})[0]`],
    ['settingBytes', `The sizes among the settings (${QUANTITY_SETTINGS.join(', ')}) in bytes, rounded down.`,
      `${lit(QUANTITY_SETTINGS)}.filter(s, variables.settings[s] != '')`
      + `\n  .transformMapEntry(i, s, {s: [variables.settings[s]].map(t, size(t) <= ${MAX_INPUT_LENGTH} ? ${quantityBytes('t.trim()', 'floor', 'annotation')} : ${UNREADABLE})[0]})`],
    ['sizeBytes', 'An exact size (0: none).', "variables.settingBytes[?'size'].orValue(0)"],
    ['minimumBytes', 'Lower bound of a share (0: none).', "variables.settingBytes[?'minimum'].orValue(0)"],
    ['podsWithoutLimit', `What a pod without a memory limit gets: ${WITHOUT_LIMIT_MODES.join(', ')}.`, orDefault('podsWithoutLimit', lit(defaults.podsWithoutLimit))],
    ['hardenMount', `Whether our mounts ask for the runtime's own hardening (bindMountOptions ${HARDENED_MOUNT_OPTIONS.join(', ')}).`,
      'variables.settings.hardenMount == \'true\''],
    ['volumeName', 'The name of our volume.', orDefault('volumeName', lit(defaults.volumeName))],
    ['containersNamed', 'Whether only named containers get the mount.', given('containers')],
    ['namedContainers', 'Their names.', "variables.settings.containers.split(',').map(n, n.trim())"],
    ['invalidSettings', 'A setting the core refuses (or that CEL cannot read), alone or with the others: the pod is left alone.'
      + (plainPolicy(policy) ? " The policy's own settings are valid (the construct checked them): only a pod's annotations can be at fault." : ''),
    (plainPolicy(policy) ? '!variables.annotated ? false : ' : '') + orLines(
      `${lit(POD_SETTINGS.map(settingAnnotation))}.exists(k, k in variables.annotations && variables.annotations[k] == '')`,
      `(${given('ratio')} && !(variables.ratioBillionths > 0 && variables.ratioBillionths <= ${BILLION}))`,
      `(variables.containersNamed && (variables.namedContainers.exists(n, n == '') || ${lit(TRIM_DISAGREEMENTS)}.exists(c, variables.settings.containers.contains(c))))`,
      `${lit(BOOLEAN_SETTINGS.filter(s => POD_SETTINGS.includes(s)))}.exists(s, variables.settings[s] != '' && !(variables.settings[s] in ['true', 'false']))`,
      `(${given('volumeName')} && !(size(variables.volumeName) <= ${DNS1123_LABEL_MAX_LENGTH} && variables.volumeName.matches(${lit(DNS1123_LABEL_PATTERN)})))`,
      `(${given('podsWithoutLimit')} && !(variables.podsWithoutLimit in ${lit(WITHOUT_LIMIT_MODES)}))`,
      // The settings together, as resolvePolicy checks them: the core's table (setting-rules.ts).
      ...SETTING_RULES.map(ruleCel),
    )],
  ];
}

/**
 * Whether the policy's own settings are ones CEL reads as the core does: then, alone, they are
 * valid (resolvePolicy and checkExpressible checked them). Names with characters JavaScript and Go
 * trim differently are not (the pod is left alone).
 */
function plainPolicy(policy: Policy): boolean {
  const containers = ownSetting(policy, 'containers');
  return !TRIM_DISAGREEMENTS.some(c => containers.includes(c));
}

/** A rule of the core's table (setting-rules.ts) broken by the pod's settings, in CEL. */
function ruleCel(rule: SettingRule): string {
  const bytes = (s: PolicySetting) => `variables.settingBytes[${lit(s)}]`;
  // The text of a setting with a default is the variable that resolves it.
  const text = (s: PolicySetting) => s === 'podsWithoutLimit' ? 'variables.podsWithoutLimit' : `variables.settings.${s}`;
  switch (rule.kind) {
    case 'at-least':
      return `(${given(rule.setting)} && ${bytes(rule.setting)} < ${rule.bytes}${rule.unless ? ` && !(${given(rule.unless)})` : ''})`;
    case 'excludes':
      return `(${given(rule.setting)} && ${given(rule.other)})`;
    case 'not-above':
      return `(${given(rule.setting)} && ${given(rule.other)} && ${bytes(rule.setting)} > ${bytes(rule.other)})`;
    case 'required-when':
      return `(${text(rule.when)} == ${lit(rule.value)} && !(${given(rule.setting)}))`;
    case 'only-when':
      return `(${text(rule.when)} != ${lit(rule.value)} && ${given(rule.setting)})`;
  }
}

/** The containers as planning reads them, and whose /dev/shm the pod has (pods with no /dev/shm of the runtime's never get here: earlyExits). */
function podShapeVariables(): CelVariable[] {
  return [
    // The containers as planning reads them (pod-view.ts): app containers, then init containers.
    ['containers', 'App containers, then init containers.', 'object.spec.containers + object.spec.?initContainers.orValue([])'],
    ['appCount', 'How many of them are app containers.', 'size(object.spec.containers)'],
    ['roles', 'Each one is a container, a sidecar (an init container that keeps running) or an init container.',
      "object.spec.containers.map(c, 'container') + object.spec.?initContainers.orValue([]).map(c, c.?restartPolicy.orValue('') == 'Always' ? 'sidecar' : 'init container')"],
    ['mountPathsUnreadable', "A mount path with a '..' element: CEL cannot clean it (the pod is left alone).",
      "variables.containers.exists(c, c.?volumeMounts.orValue([]).exists(m, m.mountPath.contains('..') && m.mountPath.split('/').exists(e, e == '..')))"],
    ['shmVolumesByContainer', `The volumes each container mounts at ${SHM_MOUNT_PATH} (paths cleaned as the runtime cleans them).`,
      `variables.containers.map(c, c.?volumeMounts.orValue([]).transformList(i, m, ${shm('m.mountPath')}, m.name))`],
    ['shmVolumes', 'All of them, in order.', 'variables.shmVolumesByContainer.flatten()'],
    ['volumes', "The pod's volumes.", 'object.spec.?volumes.orValue([])'],

    // Whose /dev/shm the pod has (findShmVolume in plan.ts).
    ['namedVolumeIndex', 'The volume with our name (-1: none).', volumeIndex('variables.volumeName')],
    ['ours', `Our volume from an earlier run: memory-backed, and the pod carries ${SIZE_LIMIT_ANNOTATION}.`,
      `variables.namedVolumeIndex >= 0 && variables.volumes[variables.namedVolumeIndex].?emptyDir.?medium.orValue('') == 'Memory' && ${lit(SIZE_LIMIT_ANNOTATION)} in variables.annotations`],
    ['foreignShmVolumes', `Volumes at ${SHM_MOUNT_PATH} that are not ours.`, 'variables.shmVolumes.filter(n, !variables.ours || n != variables.volumeName)'],
    ['userVolume', `The first of them: the user's own ${SHM_MOUNT_PATH}.`, "size(variables.foreignShmVolumes) > 0 ? string(variables.foreignShmVolumes[0]) : ''"],
    ['userVolumeIndex', 'Its index among the volumes (-1: none, and without one no volume is looked for).',
      `size(variables.foreignShmVolumes) == 0 ? -1 : ${volumeIndex('variables.userVolume')}`],
    ['adopting', "The user's only /dev/shm is a memory-backed emptyDir without sizeLimit, which the rule may size.",
      'size(variables.foreignShmVolumes) > 0 && !variables.ours && variables.shmVolumes.all(n, n == variables.userVolume) && variables.userVolumeIndex >= 0'
      + " && variables.volumes[variables.userVolumeIndex].?emptyDir.?medium.orValue('') == 'Memory' && !has(variables.volumes[variables.userVolumeIndex].emptyDir.sizeLimit)"],
    ['userShmMount', "Any other /dev/shm of the user's is left alone.", 'size(variables.foreignShmVolumes) > 0 && !variables.adopting'],
    ['volumeNameTaken', 'A volume of our name that is not ours.', 'size(variables.foreignShmVolumes) == 0 && variables.namedVolumeIndex >= 0 && !variables.ours'],
    ['targetVolumeIndex', 'The volume that is sized (-1: a new one).', 'variables.ours ? variables.namedVolumeIndex : variables.adopting ? variables.userVolumeIndex : -1'],
    ['targetVolumeName', 'Its name.', 'variables.adopting ? variables.userVolume : variables.volumeName'],
  ];
}

/** 1. Targets: the containers that get the mount. */
function targetVariables(): CelVariable[] {
  return [
    ['targets', 'Indexes into containers: those that mount the adopted volume, the named ones, or all (init containers unless left out).',
      'variables.adopting ? lists.range(size(variables.containers)).filter(k, size(variables.shmVolumesByContainer[k]) > 0)'
      + '\n  : variables.containersNamed ? lists.range(size(variables.containers)).filter(k, variables.containers[k].name in variables.namedContainers)'
      + `\n  : lists.range(${flag('includeInitContainers')} ? size(variables.containers) : variables.appCount)`],
    ['noTargets', 'None of the named containers is in the pod.', '!variables.adopting && size(variables.targets) == 0'],
  ];
}

/** Memory limits as the kubelet reads them, 2. the basis, and the kubelet's pod limit (the cap). */
function limitVariables(): CelVariable[] {
  return [
    // Memory limits as the kubelet reads them (pod-limit.ts): in bytes, rounded up; 0 when none.
    ['ownLimits', "Each container's own memory limit.",
      `variables.containers.map(c, c.?resources.?limits.?memory.orValue('0'))\n  .map(t, ${quantityBytes('t', 'ceil', 'spec')})`],
    ['podBytes', 'The pod-level limit (spec.resources), the RuntimeClass overhead (spec.overhead) and the sizeLimit of the volume that is sized.',
      '[object.spec.?resources.?limits.?memory.orValue(\'0\'), object.spec.?overhead.?memory.orValue(\'0\'),'
      + " variables.targetVolumeIndex >= 0 ? variables.volumes[variables.targetVolumeIndex].emptyDir.?sizeLimit.orValue('0') : '0']"
      + `\n  .map(t, ${quantityBytes('t', 'ceil', 'spec')})`],
    ['quantitiesUnreadable', 'A quantity of 8Pi or more, beyond what CEL reads exactly: the pod is left alone.',
      // UNREADABLE is below any quantity read, and podBytes holds the sizeLimit whenever currentSizeLimit does.
      `(variables.ownLimits + variables.podBytes).min() == ${UNREADABLE}`],

    // 2. The basis (basis.ts): the largest limit among the targets beside the app; the pod-level limit stands in.
    ['effectiveLimits', 'A container without a limit of its own counts with the pod-level limit (podBytes[0]): without one, and no limit below 0, they are the own limits.',
      'variables.podBytes[0] == 0 && (variables.ownLimits + [0]).min() >= 0 ? variables.ownLimits : variables.ownLimits.map(l, l > 0 ? l : variables.podBytes[0])'],
    ['basis', 'The largest among the app containers and sidecars that get the mount (0: none; a limit of 0 or less never counts).',
      "(variables.targets.map(k, variables.roles[k] != 'init container' ? variables.effectiveLimits[k] : 0) + [0]).max()"],

    // The kubelet's pod limit: the cap.
    ['sidecarLimits', "Each container's own limit if it is a sidecar, else 0.",
      "variables.ownLimits.transformList(k, l, variables.roles[k] == 'sidecar' ? l : 0)"],
    ['podLimit', 'The pod memory limit (0: none): the pod-level limit (podBytes[0]), or the containers\' when every one has a limit; plus the overhead'
      + ' (podBytes[1]). App containers and sidecars run together for the life of the pod; an init container runs beside the sidecars declared'
      + ' before it (a sidecar, beside itself too): the larger of the two.',
    'variables.podBytes[0] > 0 ? variables.podBytes[0] + variables.podBytes[1]'
      + '\n  : 0 in variables.ownLimits ? 0'
      // Without sidecars (most pods), the init containers run one at a time: the largest of them, or the app containers' sum.
      + "\n  : !('sidecar' in variables.roles) ? ((variables.appCount == size(variables.ownLimits) ? [0] : variables.ownLimits.slice(variables.appCount, size(variables.ownLimits)))"
      + '\n    + [variables.ownLimits.slice(0, variables.appCount).sum()]).max() + variables.podBytes[1]'
      + '\n  : [variables.ownLimits.slice(0, variables.appCount).sum() + variables.sidecarLimits.sum(),'
      + '\n    variables.appCount == size(variables.ownLimits) ? 0 : variables.ownLimits.slice(variables.appCount, size(variables.ownLimits))'
      + '.transformList(i, l, l + variables.sidecarLimits.slice(0, variables.appCount + i).sum()).max()].max() + variables.podBytes[1]'],
  ];
}

/** 3. The size, 4. never worse than the runtime, and the decision. */
function sizeVariables(): CelVariable[] {
  return [
    // 3. The size: ratio × basis, rounded down, within the bounds.
    ['share', `The share, ratio × basis, in whole bytes without overflow, rounded down to whole ${formatUnit(RATIO_SIZE_UNIT_BYTES)} from one up.`,
      `[(variables.basis / ${BILLION}) * variables.ratioBillionths + (variables.basis % ${BILLION}) * variables.ratioBillionths / ${BILLION}]`
      + `.map(s, s >= ${RATIO_SIZE_UNIT_BYTES} ? s / ${RATIO_SIZE_UNIT_BYTES} * ${RATIO_SIZE_UNIT_BYTES} : s)[0]`],
    ['boundedShare', 'Raised to the minimum, then lowered to the maximum (each only where given).',
      (raised => `${settingBytes('maximum')} != 0 ? [${raised}, ${settingBytes('maximum')}].min() : ${raised}`)(
        '(variables.minimumBytes != 0 ? [variables.share, variables.minimumBytes].max() : variables.share)')],
    // 4. Never worse than the runtime: a share below the runtime's default is not given, unless a minimum says a smaller one is meant
    // (a maximum below it needs one).
    ['requestedSize', 'The size asked for (0: none): the exact size, the share (unless below the runtime\'s '
      + `${formatUnit(RUNTIME_DEFAULT_SHM_BYTES)} without a minimum), or the fixed size of a pod without a limit.`,
    'variables.sizeBytes != 0 ? variables.sizeBytes'
      + `\n  : variables.basis > 0 ? (variables.minimumBytes == 0 && variables.boundedShare < ${RUNTIME_DEFAULT_SHM_BYTES} ? 0 : variables.boundedShare)`
      + `\n  : variables.podsWithoutLimit == 'fixed' && ${settingBytes('fixedSize')} != 0 ? ${settingBytes('fixedSize')} : 0`],

    ['decision', 'The decision: skip (the pod is left alone), size, or deny (the ValidatingAdmissionPolicy refuses it).',
      // The cheapest first: most pods are decided by the first terms (windows and hostIPC pods never get here: earlyExits).
      'variables.invalidSettings || variables.userShmMount || variables.volumeNameTaken || variables.noTargets'
      + '\n  || variables.quantitiesUnreadable || variables.mountPathsUnreadable ? \'skip\''
      + `\n  : variables.adopting && (!${flag('sizeUnboundedShm')} || variables.requestedSize == 0) ? 'skip'`
      + "\n  : variables.requestedSize > 0 ? 'size'"
      + "\n  : variables.sizeBytes == 0 && variables.basis == 0 && variables.podsWithoutLimit == 'deny' ? 'deny'"
      + "\n  : 'skip'"],
    ['size', 'Capped at the pod limit: the kubelet mounts no larger tmpfs.', 'variables.podLimit > 0 && variables.requestedSize > variables.podLimit ? variables.podLimit : variables.requestedSize'],
    ['sizeText', 'Written in the largest unit that divides it (formatBytes in quantity.ts).', bytesText('variables.size')],
  ];
}

/** The edits (PlanEdits in plan.ts). */
function editVariables(): CelVariable[] {
  return [
    ['volumeAction', 'What becomes of the volume: add ours, resize the one there (its sizeLimit, podBytes[2], is another or none), or none.',
      "variables.targetVolumeIndex < 0 ? 'add'"
      + "\n  : has(variables.volumes[variables.targetVolumeIndex].emptyDir.sizeLimit) && variables.podBytes[2] == variables.size ? 'none' : 'resize'"],
    ['mountEdits', 'The targets that lack the mount (of the volume sized, at /dev/shm).',
      'variables.targets.filter(k, !(variables.targetVolumeName in variables.shmVolumesByContainer[k]))'],
    ['hardenEdits', 'With hardenMount: the mounts of ours in the targets that lack some of the hardening, [container, mount], and the options they get'
      + ' (those they had, then the missing ones; none is taken away).',
    '!variables.hardenMount ? [] : variables.targets.map(k, [variables.containers[k].?volumeMounts.orValue([])].map(ms, lists.range(size(ms))'
      + `.filter(j, ms[j].name == variables.targetVolumeName && ${shm('ms[j].mountPath')}`
      + ` && !${lit(HARDENED_MOUNT_OPTIONS)}.all(o, o in ms[j].?bindMountOptions.orValue([])))`
      + `.map(j, [dyn([k, j]), dyn(ms[j].?bindMountOptions.orValue([]) + ${lit(HARDENED_MOUNT_OPTIONS)}.filter(o, !(o in ms[j].?bindMountOptions.orValue([]))))]))[0]).flatten()`],
    ['sizeLimitAnnotation', `The ${SIZE_LIMIT_ANNOTATION} the pod carries ('': none).`, `variables.annotations[?${lit(SIZE_LIMIT_ANNOTATION)}].orValue('')`],
    ['annotationEdits', 'The size decided, and the settings chosen explicitly that the pod does not carry yet (a volume the pod brought is pinned by name and containers).',
      [`(variables.sizeLimitAnnotation != variables.sizeText ? [{'key': ${lit(SIZE_LIMIT_ANNOTATION)}, 'value': variables.sizeText}] : [])`,
        // The settings are read once (st) for the thirteen of them; each annotation is the one at the same index.
        `[variables.settings].map(st, ${lit(POD_SETTINGS)}.transformList(i, s, st[s] != '' && !(${lit(POD_SETTINGS.map(settingAnnotation))}[i] in variables.annotations)`
        + ` && !(variables.adopting && s in ${lit(PINNED)}),\n    {'key': ${lit(POD_SETTINGS.map(settingAnnotation))}[i], 'value': string(st[s])}))[0]`,
        `(variables.adopting && !(${has('containers')}) ? [{'key': ${lit(settingAnnotation('containers'))}, 'value': variables.targets.map(k, string(variables.containers[k].name)).join(',')}] : [])`,
        `(variables.adopting && !(${has('volumeName')}) ? [{'key': ${lit(settingAnnotation('volumeName'))}, 'value': variables.userVolume}] : [])`].join('\n  + ')],
  ];
}

/**
 * The plan as a JSON patch (patch.ts), from the edits, but for the hardening of the mounts, which
 * the hardening policy makes (hardeningExpression).
 */
function mutationExpression(): string {
  // Each container's edits, its list of mounts created first where it has none (one pass over the edits).
  const mountEdits = (field: 'containers' | 'initContainers', index: string) => ['(has(variables.containers[k].volumeMounts) ? [] : ',
    `[JSONPatch{op: 'add', path: '/spec/${field}/' + string(${index}) + '/volumeMounts', value: []}])`,
    ` + [JSONPatch{op: 'add', path: '/spec/${field}/' + string(${index}) + '/volumeMounts/-',`,
    ` value: Object.spec.${field}.volumeMounts{name: variables.targetVolumeName, mountPath: ${lit(SHM_MOUNT_PATH)}}}]`].join('');
  return [
    '// The plan as a JSON patch (patch.ts): annotations, the volume, the mounts. Lists and maps',
    '// that are missing are created empty first.',
    '// Whether there is anything to do: a new or adopted volume, or ours with another size, a missing mount or annotation, or hardening',
    '// (the hardening policy\'s; this one writes the annotations that go with it).',
    "variables.decision != 'size' || (variables.ours && variables.volumeAction == 'none' && size(variables.mountEdits) == 0"
    + ' && variables.sizeLimitAnnotation == variables.sizeText && size(variables.hardenEdits) == 0) ? [] :',
    "(has(object.metadata.annotations) ? [] : [JSONPatch{op: 'add', path: '/metadata/annotations', value: {}}])",
    "+ variables.annotationEdits.map(e, JSONPatch{op: 'add', path: '/metadata/annotations/' + jsonpatch.escapeKey(e.key), value: e.value})",
    "+ (variables.volumeAction == 'add' && !has(object.spec.volumes) ? [JSONPatch{op: 'add', path: '/spec/volumes', value: []}] : [])",
    "+ (variables.volumeAction == 'add' ? [JSONPatch{op: 'add', path: '/spec/volumes/-', value: Object.spec.volumes{name: variables.volumeName,"
    + " emptyDir: Object.spec.volumes.emptyDir{medium: 'Memory', sizeLimit: variables.sizeText}}}] : [])",
    "+ (variables.volumeAction == 'resize' ? [JSONPatch{op: 'add', path: '/spec/volumes/' + string(variables.targetVolumeIndex) + '/emptyDir/sizeLimit', value: variables.sizeText}] : [])",
    `+ variables.mountEdits.map(k, k < variables.appCount\n  ? ${mountEdits('containers', 'k')}\n  : ${mountEdits('initContainers', 'k - variables.appCount')}).flatten()`,
  ].join('\n');
}

/**
 * The hardening of the mounts of ours (hardenEdits) as an apply configuration: each container by
 * name, each mount by its mountPath, bindMountOptions a set (what the mount had, then the missing
 * options). An apply configuration goes through the API server's type converter, so where the API
 * has no bindMountOptions (before 1.37) the hardening policy alone fails, and failurePolicy Ignore
 * keeps the pod the sizing policy sized; a JSON patch with the field would fail the pod's creation
 * instead (the strict decoding of its result is an internal error, whatever the failure policy).
 * hardenEdits comes first: where it is empty, nothing of the rule is evaluated.
 */
function hardeningExpression(): string {
  const containers = (field: 'containers' | 'initContainers', inField: string) =>
    `variables.targets.filter(k, ${inField} && variables.hardenEdits.exists(e, e[0][0] == k)).map(k, Object.spec.${field}{`
    + 'name: variables.containers[k].name, '
    + `volumeMounts: variables.hardenEdits.filter(e, e[0][0] == k).map(e, Object.spec.${field}.volumeMounts{`
    + 'mountPath: variables.containers[k].volumeMounts[e[0][1]].mountPath, bindMountOptions: e[1]})})';
  const app = containers('containers', 'k < variables.appCount');
  const init = containers('initContainers', 'k >= variables.appCount');
  const some = (field: string) => `variables.hardenEdits.exists(e, ${field === 'containers' ? 'e[0][0] < variables.appCount' : 'e[0][0] >= variables.appCount'})`;
  return [
    '// The hardening of the mounts of ours, as an apply configuration; nothing when there is none to add.',
    "size(variables.hardenEdits) == 0 || variables.decision != 'size' ? Object{} :",
    `${some('containers')} && ${some('initContainers')} ? Object{spec: Object.spec{containers: ${app}, initContainers: ${init}}} :`,
    `${some('containers')} ? Object{spec: Object.spec{containers: ${app}}} :`,
    `Object{spec: Object.spec{initContainers: ${init}}}`,
  ].join('\n');
}

/**
 * CEL that reads a quantity (a string expression) in bytes as the core does, rounded down or up,
 * or gives UNREADABLE from 2^53 bytes on: below, a float64 tells the integers apart, so a
 * fraction is rounded through one and checked against its neighbours by exact comparisons.
 */
export function quantityBytes(text: string, round: 'floor' | 'ceil', checked: 'annotation' | 'spec'): string {
  const pick = round === 'floor'
    ? '!q.isLessThan(quantity(string(n))) && q.isLessThan(quantity(string(n + 1)))'
    : '!q.isGreaterThan(quantity(string(n))) && q.isGreaterThan(quantity(string(n - 1)))';
  // Integers (nearly every quantity) are bounded by integer comparisons; others by exact quantity ones.
  // A spec's quantities passed the API server's validation; only an annotation's text needs checking.
  const valid = checked === 'annotation' ? `!isQuantity(v) ? ${UNREADABLE} : ` : '';
  // Absent values read as '0' (the most common after a container's limit) and need no parsing. A text
  // that is already a name is read as it is; any other is bound to one first (each comprehension costs).
  const bound = /^[a-z]+$/.test(text);
  const v = bound ? text : 'v';
  const body = `${v} == '0' ? 0 : ${valid.replace(/\bv\b/g, v)}[quantity(${v})].map(q, q.isInteger()`
    + ` ? (q.asInteger() > ${UNREADABLE} && q.asInteger() < ${POLICY_QUANTITY_BOUND} ? q.asInteger() : ${UNREADABLE})`
    + ` : q.isLessThan(quantity('${POLICY_QUANTITY_BOUND}')) && q.isGreaterThan(quantity('-${POLICY_QUANTITY_BOUND}'))`
    + ` ? [-1, 0, 1, 2].map(d, int(q.asApproximateFloat()) + d).filter(n, ${pick})[0] : ${UNREADABLE})[0]`;
  return bound ? body : `[${text}].map(v, ${body})[0]`;
}

/**
 * CEL that names containers (a list of indexes into `variables.containers`) as describeContainers
 * in pod-view.ts does: grouped by kind, `containers 'a', 'b' and sidecar 'c'`.
 */
export function describeContainers(indexes: string): string {
  const group = `${lit(CONTAINER_ROLES)}.map(r, ${indexes}.filter(k, variables.roles[k] == r))`
    + ".filter(g, size(g) > 0).map(g, variables.roles[g[0]] + (size(g) > 1 ? 's ' : ' ') + g.map(k, \"'\" + string(variables.containers[k].name) + \"'\").join(', '))";
  return `[${group}].map(gs, size(gs) <= 1 ? gs.join('') : gs.slice(0, size(gs) - 1).join(', ') + ' and ' + gs[size(gs) - 1])[0]`;
}

/** A CEL literal for a string, a boolean or a list of strings. */
export function lit(value: string | boolean | readonly string[]): string {
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(v => lit(v)).join(', ')}]`;
  return `'${(value as string).replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/[^\x20-\x7e]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

/** `a || b`, without the `false` terms (and `true` when one is `true`). */
function or(...terms: string[]): string {
  return either(terms, ' || ');
}

/** The same, a term a line. */
function orLines(...terms: string[]): string {
  return either(terms, '\n  || ');
}

function either(terms: readonly string[], separator: string): string {
  const kept = terms.filter(t => t !== 'false');
  if (kept.includes('true')) return 'true';
  if (kept.length === 0) return 'false';
  return kept.length === 1 ? kept[0] : kept.map(t => wrap(t, ['?'])).join(separator);
}

/** Parentheses around a term that holds an operator binding less tightly (more of them than needed do no harm). */
function wrap(term: string, looser: readonly string[]): string {
  return looser.some(op => term.includes(op)) ? `(${term})` : term;
}

/**
 * CEL that writes a number of bytes (an int expression) as formatBytes in quantity.ts does: in the
 * largest unit that divides it (`zero` also writes 0 as `0`, where the sizes of the rule are never 0).
 */
export function bytesText(bytes: string, zero = false): string {
  const units = Object.entries(BINARY_SUFFIXES).reverse();
  const text = [...units.map(([suffix, factor]) => `${bytes} % ${factor} == 0 ? string(${bytes} / ${factor}) + '${suffix}'`), `string(${bytes})`].join('\n  : ');
  return zero ? `${bytes} == 0 ? '0'\n  : ${text}` : text;
}

/** `64Mi`, for comments. */
export function formatUnit(bytes: bigint): string {
  const [suffix, factor] = Object.entries(BINARY_SUFFIXES).reverse().find(([, f]) => bytes % f === 0n)!;
  return `${bytes / factor}${suffix}`;
}
