/**
 * What an app can reach in the published package, checked the way an app would meet it: the
 * package is built into a consumer project's node_modules, and `tsc` compiles consumer files
 * against its declarations. Also checked at run time: nothing reachable from an engine or a
 * request session leads to a function that writes records, emits events or signs cookies.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Outside the repository: inside it, `import 'tessera'` would resolve to the repository itself
// (a package may import its own name), not to the package as installed.
const project = mkdtempSync(join(tmpdir(), 'tessera-types-consumer-'));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

beforeAll(() => {
  const pkg = join(project, 'node_modules', 'tessera');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  execFileSync(process.execPath, [join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--out-dir', join(pkg, 'dist'), '--silent'], {
    cwd: root,
    stdio: 'pipe',
    timeout: 120_000,
  });
  cpSync(join(root, 'test', 'types', 'consumer'), join(project, 'src'), { recursive: true });
}, 150_000);

afterAll(() => {
  if (process.env['KEEP_TYPES_CONSUMER'] !== '1') rmSync(project, { recursive: true, force: true });
});

/** Compile the consumer project under a module resolution; the output of tsc (empty when clean). */
function compile(moduleResolution: 'node16' | 'bundler'): string {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      module: moduleResolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution,
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
    },
    include: ['src'],
  };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('the published types', () => {
  it.each(['node16', 'bundler'] as const)('let no app reach the store gateway, emit events or sign cookies (moduleResolution %s)', (resolution) => {
    expect(compile(resolution)).toBe('');
  });
});

describe('what is reachable at run time', () => {
  it('leads from an engine and a request session to no writer, emitter or signer', async () => {
    const engine = createSessions({ secret: 'a-strong-secret-of-at-least-32-bytes!', store: new MemoryStore() });
    const rs = await engine.load({ cookie: undefined, secure: true });
    const forbidden = new Set(['write', 'read', 'emit', 'sign', 'rotationToken', 'derive', 'gateway', 'keyRing', 'makeRoomFor', 'call']);
    const found: string[] = [];
    const seen = new Set<unknown>();
    const walk = (value: unknown, path: string, depth: number): void => {
      if (depth > 4 || value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
      seen.add(value);
      for (let object: object | null = value as object; object !== null && object !== Object.prototype && object !== Function.prototype; object = Object.getPrototypeOf(object)) {
        for (const key of Reflect.ownKeys(object)) {
          const name = String(key);
          if (forbidden.has(name)) found.push(`${path}.${name}`);
          const descriptor = Object.getOwnPropertyDescriptor(object, key);
          if (descriptor && 'value' in descriptor) walk(descriptor.value, `${path}.${name}`, depth + 1);
        }
      }
    };
    walk(engine, 'engine', 0);
    walk(rs, 'rs', 0);
    expect(found).toEqual([]);
  });
});
