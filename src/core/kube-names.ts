/**
 * Kubernetes object-name rules (`k8s.io/apimachinery/pkg/util/validation`), checked where a
 * user's name would otherwise only fail at `kubectl apply`.
 */
/** The characters of a DNS-1123 label, as a regular expression both JavaScript and RE2 (CEL) read. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** Its length limit. */
export const DNS1123_LABEL_MAX_LENGTH = 63;
const DNS1123_LABEL = new RegExp(DNS1123_LABEL_PATTERN);

/** A DNS-1123 label: volume, container, Service and namespace names. */
export function isDns1123Label(value: unknown): value is string {
  return typeof value === 'string' && value.length <= DNS1123_LABEL_MAX_LENGTH && DNS1123_LABEL.test(value);
}

/** A DNS-1123 subdomain: most other object names. */
export function isDns1123Subdomain(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253 && value.split('.').every(isDns1123Label);
}

/**
 * A CSI driver name as the API server accepts it for a CSIDriver object and an inline `csi`
 * volume (`ValidateCSIDriverName`): at most 63 characters that, lower-cased, form a DNS-1123
 * subdomain.
 */
export function isCsiDriverName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && isDns1123Subdomain(value.toLowerCase());
}
