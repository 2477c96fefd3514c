/**
 * How messages name a prop or a method so that they read in every language jsii publishes. Python
 * spells them in snake_case (`includeInitContainers` is `include_init_containers`, `addTo()` is
 * `add_to()`): a Python user told only the TypeScript name looks for something their API lacks.
 */

/** The Python name jsii gives a prop or a method: `hostIPC` → `host_ipc`, `addTo` → `add_to`. */
export function pythonName(name: string): string {
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** `'includeInitContainers' (include_init_containers in Python)`; `'ratio'` where both spell it alike. */
export function propLabel(name: string): string {
  const python = pythonName(name);
  return python === name ? `'${name}'` : `'${name}' (${python} in Python)`;
}

/** `SharedMemory.addTo() (add_to in Python)`: a static method, named as each language calls it. */
export function methodLabel(type: string, method: string): string {
  return `${type}.${method}() (${pythonName(method)} in Python)`;
}
