/**
 * Area 1: every object that every example and the chart (with every value set its tests use)
 * synthesize is accepted by `kubectl apply --server-side --dry-run=server --validate=strict`, so an
 * unknown or misspelled field, a bad enum value or anything else the real API server refuses fails
 * here. And nothing we send is lost: every field we set comes back from the API server (a quantity
 * may come back in its canonical form).
 */
import { Kube } from './support/kube';
import { ObjectSource, chartSources, exampleSources, gvk } from './support/sources';
import { area, count } from './support/summary';
import { isQuantity, parseQuantity } from '../../src/core';

area('1 strict server-side apply');

const admin = Kube.admin();

/**
 * Kinds whose definitions this control plane does not have: cert-manager's CRDs are not published
 * anywhere this machine can fetch from. Any other kind the API server does not know fails the test.
 */
const NOT_INSTALLED = new Set(['cert-manager.io/v1/Certificate', 'cert-manager.io/v1/Issuer']);

/** Go's zero values: the API server omits them (omitempty), so sending one sets nothing. */
function isZero(value: unknown): boolean {
  if (value === false || value === 0 || value === '' || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.values(value).every(isZero);
}

/** Where `returned` does not hold what `sent` set; quantities compare by value, zero values match absence. */
export function lostFields(sent: unknown, returned: unknown, at = ''): string[] {
  if (sent === null || sent === undefined || (returned === undefined && isZero(sent))) return [];
  if (Array.isArray(sent)) {
    if (!Array.isArray(returned)) return [`${at}: sent a list, got ${JSON.stringify(returned)}`];
    if (sent.length !== returned.length) return [`${at}: sent ${sent.length} items, got ${returned.length}`];
    return sent.flatMap((item, i) => lostFields(item, returned[i], `${at}/${i}`));
  }
  if (typeof sent === 'object') {
    if (typeof returned !== 'object' || returned === null) return [`${at}: sent an object, got ${JSON.stringify(returned)}`];
    return Object.entries(sent as Record<string, unknown>).flatMap(([key, value]) => lostFields(value, (returned as Record<string, unknown>)[key], `${at}/${key}`));
  }
  if (sent === returned) return [];
  if (typeof sent === 'string' && typeof returned === 'string' && isQuantity(sent) && isQuantity(returned)) {
    const a = parseQuantity(sent);
    const b = parseQuantity(returned);
    if (a.num * b.den === b.num * a.den) return [];
  }
  return [`${at}: sent ${JSON.stringify(sent)}, got ${JSON.stringify(returned)}`];
}

async function dryRunSource(source: ObjectSource): Promise<void> {
  const objects = await source.objects();
  expect(objects.length).toBeGreaterThan(0);
  const custom = objects.filter(o => NOT_INSTALLED.has(gvk(o)));
  const namespaces = objects.filter(o => o.kind === 'Namespace');
  const rest = objects.filter(o => o.kind !== 'Namespace' && !NOT_INSTALLED.has(gvk(o)));

  // A dry-run Namespace is not there for the objects after it: Namespaces are applied for real
  // (strictly too), and namespaces the objects only refer to are created plain.
  await admin.namespacesGone(namespaces.map(n => n.metadata.name));
  if (namespaces.length > 0) await admin.apply(namespaces, ['--validate=strict']);
  const referenced = new Set(rest.map(o => o.metadata?.namespace).filter((n): n is string => typeof n === 'string'));
  for (const name of referenced) if (!namespaces.some(n => n.metadata.name === name)) await admin.namespace(name);

  const run = await admin.apply(rest, ['--dry-run=server', '--validate=strict', '-o', 'json']);
  const answer = JSON.parse(run.stdout);
  const returned: any[] = answer.kind === 'List' ? answer.items : [answer];
  expect(returned.map(o => `${gvk(o)} ${o.metadata.name}`)).toEqual(rest.map(o => `${gvk(o)} ${o.metadata.name}`));
  const lost = rest.flatMap((object, i) => lostFields(object, returned[i]).map(problem => `${gvk(object)} ${object.metadata.name}${problem}`));
  expect(lost).toEqual([]);
  expect(custom.map(gvk).filter(kind => !NOT_INSTALLED.has(kind))).toEqual([]);
  count({ objects: namespaces.length + rest.length });
}

describe('examples', () => {
  test.each(exampleSources())('$name', dryRunSource);
});

describe('the Helm chart', () => {
  test.each(chartSources(admin))('$name', dryRunSource);
});

test('a misspelled field and a bad enum value are refused by the API server: the check can fail', async () => {
  const [source] = exampleSources().filter(s => s.name === 'example postgres');
  const statefulSet = (await source.objects()).find(o => o.kind === 'StatefulSet');
  const misspelled = structuredClone(statefulSet);
  misspelled.spec.template.spec.containers[0].volumeMount = misspelled.spec.template.spec.containers[0].volumeMounts;
  const unknown = await admin.apply([misspelled], ['--dry-run=server', '--validate=strict']).catch(error => error.run);
  expect(unknown.status).not.toBe(0);
  expect(unknown.stderr).toMatch(/^Error from server: .*\.spec\.template\.spec\.containers\[name="postgres"\]\.volumeMount: field not declared in schema/m);

  const badEnum = structuredClone(statefulSet);
  badEnum.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
  const refused = await admin.apply([badEnum], ['--dry-run=server', '--validate=strict']).catch(error => error.run);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain('spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"');
});

test('lostFields sees a field the API server dropped, and not a quantity it canonicalized', () => {
  expect(lostFields({ a: { b: '2048Mi', c: 1, d: false, e: [] } }, { a: { b: '2Gi', c: 1 } })).toEqual([]);
  expect(lostFields({ a: { b: '2048Mi', c: 1 } }, { a: { b: '1Gi' } })).toEqual(['/a/b: sent "2048Mi", got "1Gi"', '/a/c: sent 1, got undefined']);
});
