/**
 * Messages name props and methods in both languages; the Python name must be the one jsii gives,
 * or the message sends a Python user to a name their API does not have. jsii-pacmak's own
 * conversion (codemaker's toSnakeCase) is the oracle, over every name in the assembly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { toSnakeCase } from 'codemaker';
import { methodLabel, propLabel, pythonName } from '../../../src/constructs/common/language-names';

const ASSEMBLY = path.join(__dirname, '..', '..', '..', '.jsii');

/** Every prop, method and parameter name of every type of the assembly (jsii compile writes it: npm test compiles first). */
function assemblyNames(): string[] {
  const types = Object.values(JSON.parse(fs.readFileSync(ASSEMBLY, 'utf8')).types) as any[];
  const names = types.flatMap(t => [
    ...(t.properties ?? []).map((p: any) => p.name),
    ...(t.methods ?? []).flatMap((m: any) => [m.name, ...(m.parameters ?? []).map((p: any) => p.name)]),
    ...(t.initializer?.parameters ?? []).map((p: any) => p.name),
  ]);
  return [...new Set(names)].sort();
}

test('the Python name of every prop, method and parameter is the one jsii-pacmak gives it', () => {
  const names = assemblyNames();
  expect(names).toEqual(expect.arrayContaining(['includeInitContainers', 'sizeUnboundedShm', 'addTo', 'applyToChart', 'podsWithoutLimit']));
  expect(names.filter(n => pythonName(n) !== toSnakeCase(n)).map(n => `${n}: ${pythonName(n)} != ${toSnakeCase(n)}`)).toEqual([]);
});

test('a label gives the Python name only where it differs', () => {
  expect(propLabel('ratio')).toBe("'ratio'");
  expect(propLabel('includeInitContainers')).toBe("'includeInitContainers' (include_init_containers in Python)");
  expect(propLabel('hostIPC')).toBe("'hostIPC' (host_ipc in Python)");
  expect(methodLabel('SharedMemory', 'applyToChart')).toBe('SharedMemory.applyToChart() (apply_to_chart in Python)');
});
