/**
 * What an npm tarball holds, read as npm would unpack it: its files, its manifest, and the `require`s
 * of its JavaScript that resolve to nothing it has or declares.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';

export interface Unpacked {
  /** The package's directory. */
  readonly dir: string;
  /** Its files, relative to `dir`, sorted. */
  readonly files: string[];
  readonly manifest: any;
}

/** Unpacks `tarball` into `root` (npm tarballs hold a `package/` directory). */
export function unpack(tarball: string, root: string): Unpacked {
  fs.mkdirSync(root, { recursive: true });
  execFileSync('tar', ['xzf', tarball], { cwd: root });
  const dir = path.join(root, 'package');
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true })
    .flatMap(e => e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(dir, path.join(d, e.name))]);
  return { dir, files: walk(dir).sort(), manifest: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) };
}

const BUILTINS = new Set(builtinModules.flatMap(m => [m, `node:${m}`]));

/**
 * Every `require` of the package's JavaScript (bar `skip`) that is neither a Node.js module, nor a
 * file of the package, nor a dependency or peer dependency it declares, as `file: request`.
 */
export function unresolvedRequires(pkg: Unpacked, skip: (file: string) => boolean = () => false): string[] {
  const declared = new Set([...Object.keys(pkg.manifest.dependencies ?? {}), ...Object.keys(pkg.manifest.peerDependencies ?? {})]);
  const unresolved: string[] = [];
  for (const file of pkg.files.filter(f => f.endsWith('.js') && !skip(f))) {
    const text = fs.readFileSync(path.join(pkg.dir, file), 'utf8');
    for (const request of Array.from(text.matchAll(/require\("([^"]+)"\)|require\('([^']+)'\)/g), m => m[1] ?? m[2])) {
      if (BUILTINS.has(request)) continue;
      if (request.startsWith('.')) {
        const target = path.normalize(path.join(path.dirname(file), request));
        if (![target, `${target}.js`, path.join(target, 'index.js')].some(t => pkg.files.includes(t))) unresolved.push(`${file}: ${request}`);
        continue;
      }
      const name = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
      if (!declared.has(name)) unresolved.push(`${file}: ${request}`);
    }
  }
  return unresolved;
}
