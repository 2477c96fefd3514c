/**
 * Values of a container's environment variables: literal, or taken from the pod, the container's
 * own resources, a ConfigMap or a Secret.
 */
import { isDns1123Label, isDns1123Subdomain, isQuantity } from '../../core';
import { methodLabel, propLabel } from '../common/language-names';

/**
 * Options for `EnvValue.fromConfigMap()` and `EnvValue.fromSecret()`.
 */
export interface EnvKeyOptions {
  /**
   * Whether the container starts when the ConfigMap, the Secret or the key is missing (the
   * variable is then unset).
   *
   * @default false
   */
  readonly optional?: boolean;
}

/**
 * Options for `EnvValue.fromResource()`.
 */
export interface EnvResourceOptions {
  /**
   * The container whose resources are read.
   *
   * @default - the container the variable belongs to
   */
  readonly containerName?: string;

  /**
   * The unit the value is given in (`1Mi` gives a memory limit in mebibytes).
   *
   * @default "1"
   */
  readonly divisor?: string;
}

/** Fields of the pod the kubelet can hand a container (the Downward API). */
const POD_FIELDS = /^(metadata\.(name|namespace|uid)|metadata\.(labels|annotations)(\['[^']+'\])?|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs))$/;
const RESOURCES = ['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage'];

/**
 * The value of an environment variable.
 */
export class EnvValue {
  /**
   * A literal value.
   *
   * @param value the value
   */
  public static fromValue(value: string): EnvValue {
    if (typeof value !== 'string') throw new Error(`EnvValue.fromValue(${JSON.stringify(value)}): give a string`);
    return new EnvValue({ value });
  }

  /**
   * A field of the pod: `spec.nodeName` (a node agent's node), `metadata.namespace`,
   * `status.podIP`, `metadata.labels['app']`, ...
   *
   * @param fieldPath the field
   */
  public static fromFieldRef(fieldPath: string): EnvValue {
    if (typeof fieldPath !== 'string' || !POD_FIELDS.test(fieldPath)) {
      throw new Error(`EnvValue.fromFieldRef(${JSON.stringify(fieldPath)}): give a field the kubelet exposes, such as spec.nodeName, `
        + "metadata.namespace, status.podIP or metadata.labels['key']");
    }
    return new EnvValue({ valueFrom: { fieldRef: { fieldPath } } });
  }

  /**
   * A request or limit of a container (`limits.memory`, e.g. for a runtime's own memory limit).
   *
   * @param resource `limits.cpu`, `limits.memory`, `limits.ephemeral-storage` or their `requests.` forms
   * @param options another container, the unit
   */
  public static fromResource(resource: string, options: EnvResourceOptions = {}): EnvValue {
    if (!RESOURCES.includes(resource)) throw new Error(`EnvValue.fromResource(${JSON.stringify(resource)}): give one of ${RESOURCES.join(', ')}`);
    if (options.containerName !== undefined && !isDns1123Label(options.containerName)) {
      throw new Error(`${propLabel('containerName')} (${JSON.stringify(options.containerName)}) of ${methodLabel('EnvValue', 'fromResource')} is not a container name`);
    }
    if (options.divisor !== undefined && !isQuantity(options.divisor)) {
      throw new Error(`'divisor' (${JSON.stringify(options.divisor)}) of ${methodLabel('EnvValue', 'fromResource')} is not a quantity such as 1Mi`);
    }
    return new EnvValue({
      valueFrom: {
        resourceFieldRef: {
          resource,
          ...(options.containerName !== undefined ? { containerName: options.containerName } : {}),
          ...(options.divisor !== undefined ? { divisor: options.divisor } : {}),
        },
      },
    });
  }

  /**
   * A key of a ConfigMap in the pod's namespace.
   *
   * @param configMapName the ConfigMap
   * @param key the key
   * @param options whether it may be missing
   */
  public static fromConfigMap(configMapName: string, key: string, options: EnvKeyOptions = {}): EnvValue {
    return new EnvValue({ valueFrom: { configMapKeyRef: keyRef('fromConfigMap', configMapName, key, options) } });
  }

  /**
   * A key of a Secret in the pod's namespace.
   *
   * @param secretName the Secret
   * @param key the key
   * @param options whether it may be missing
   */
  public static fromSecret(secretName: string, key: string, options: EnvKeyOptions = {}): EnvValue {
    return new EnvValue({ valueFrom: { secretKeyRef: keyRef('fromSecret', secretName, key, options) } });
  }

  private constructor(
    /** @internal */ public readonly _json: { readonly value?: string; readonly valueFrom?: Record<string, unknown> },
  ) {}
}

function keyRef(method: string, name: string, key: string, options: EnvKeyOptions): Record<string, unknown> {
  if (!isDns1123Subdomain(name) || typeof key !== 'string' || !/^[-._a-zA-Z0-9]+$/.test(key)) {
    throw new Error(`EnvValue.${method}(${JSON.stringify(name)}, ${JSON.stringify(key)}): give the object's name (a DNS-1123 subdomain) `
      + 'and a key of letters, digits, -, _ and .');
  }
  return { name, key, ...(options.optional !== undefined ? { optional: options.optional } : {}) };
}
