// Validates Kubernetes objects against the OpenAPI schemas of `kubernetes-models`.
// kubernetes-models is ESM-only and jest runs CommonJS, so tests call this script in a child
// process: a JSON array of objects on stdin, a JSON array of results on stdout, in order.
// Each result is { ok: true } or { ok: false, error }, or { ok: false, error, noSchema: true }
// when no schema is known for the apiVersion/kind.
const input = await new Promise((resolve, reject) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
  process.stdin.on('error', reject);
});

const modules = new Map();
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  if (!modules.has(apiVersion)) {
    try {
      modules.set(apiVersion, await import(`kubernetes-models/${apiVersion}`));
    } catch {
      modules.set(apiVersion, undefined);
    }
  }
  return modules.get(apiVersion)?.[kind];
}

const results = [];
for (const object of JSON.parse(input)) {
  const Model = await modelFor(object?.apiVersion, object?.kind);
  if (!Model) {
    results.push({ ok: false, noSchema: true, error: `no schema for ${object?.apiVersion}/${object?.kind}` });
    continue;
  }
  try {
    new Model(object).validate();
    results.push({ ok: true });
  } catch (error) {
    results.push({ ok: false, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
