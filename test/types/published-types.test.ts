/**
 * What an app can reach in the published package, and how it is typed, checked the way an app
 * would meet it: the package is built into a consumer project's node_modules (with its
 * dependencies beside it, as npm installs them), and `tsc` compiles consumer files against its
 * declarations, as an ES module and as CommonJS, under every `moduleResolution` an app may use.
 * The consumer files are test/types/consumer/*.ts plus the README's Express quick start, as
 * written. Also checked at run time: nothing reachable from an engine or a request session
 * leads to a function that writes records, emits events or signs cookies.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Session } from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionMethods } from '../../src/adapters/express/session-object.js';
import { createSessions } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Outside the repository: inside it, `import 'tessera'` would resolve to the repository itself
// (a package may import its own name), and every package of the repository's node_modules
// would be found, hiding a dependency the package forgot to declare.
const project = mkdtempSync(join(tmpdir(), 'tessera-types-consumer-'));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
/**
 * Child processes run asynchronously: a build or a compile that blocked the test worker for
 * long (a minute on a loaded machine) would make vitest's worker RPC time out.
 */
const run = promisify(execFile);
/** What the consumer app itself installs; tessera's own dependencies come from its package.json. */
const appDependencies = ['express', '@types/express', '@types/node', 'fastify', 'hono'];

/**
 * Every method of `req.session` under `tessera/express` is on express-session's `Session` type
 * (which `src/adapters/express/types.ts` augments): a method added to `SessionMethods` and
 * forgotten there fails this line in `npm run typecheck`.
 */
const everyMethodTyped: [Exclude<keyof SessionMethods, keyof Session>] extends [never] ? true : false = true;

/** The first ```ts block after the README's `## Quick start (Express)` heading. */
function readmeQuickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const heading = /^## Quick start \(Express\)\s*$/m.exec(readme);
  if (heading === null) throw new Error('README.md has no "## Quick start (Express)" heading');
  const block = /^```ts\n([\s\S]*?)^```\s*$/m.exec(readme.slice(heading.index));
  if (block?.[1] === undefined) throw new Error('README.md has no ```ts block after "## Quick start (Express)"');
  return block[1];
}

/**
 * The consumers: one ES module package (`"type": "module"`) and one CommonJS package, each
 * compiled under the resolutions that apply to it. node10 is TypeScript's default for
 * `"module": "commonjs"`; it ignores "exports" and finds subpaths through "typesVersions".
 */
const consumers = {
  'node16, ESM consumer': { dir: 'esm', module: 'node16', moduleResolution: 'node16' },
  'node16, CJS consumer': { dir: 'cjs', module: 'node16', moduleResolution: 'node16' },
  bundler: { dir: 'esm', module: 'esnext', moduleResolution: 'bundler' },
  node10: { dir: 'cjs', module: 'commonjs', moduleResolution: 'node10' },
} as const;
type Consumer = keyof typeof consumers;

beforeAll(async () => {
  const modules = join(project, 'node_modules');
  const pkg = join(modules, 'tessera');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  await run(process.execPath, [join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--out-dir', join(pkg, 'dist'), '--silent'], {
    cwd: root,
    timeout: 120_000,
  });
  // Installed beside tessera, as npm hoists them. Their own dependencies resolve from their real
  // paths in the repository's node_modules.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...appDependencies]) {
    mkdirSync(join(modules, name, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  }
  const quickStart = readmeQuickStart();
  for (const [dir, type] of [['esm', 'module'], ['cjs', 'commonjs']] as const) {
    // consumer/cjs/ holds what only CommonJS can say (`import x = require(...)`).
    const cjsOnly = join(root, 'test', 'types', 'consumer', 'cjs');
    cpSync(join(root, 'test', 'types', 'consumer'), join(project, dir, 'src'), { recursive: true, filter: (source) => dir === 'cjs' || !source.startsWith(cjsOnly) });
    writeFileSync(join(project, dir, 'src', 'readme-quick-start.ts'), quickStart);
    writeFileSync(join(project, dir, 'package.json'), JSON.stringify({ name: `consumer-${dir}`, private: true, type }));
  }
}, 150_000);

afterAll(() => {
  if (process.env['KEEP_TYPES_CONSUMER'] !== '1') rmSync(project, { recursive: true, force: true });
});

/** Compile a consumer; the output of tsc (empty when clean). */
async function compile(consumer: Consumer): Promise<string> {
  const { dir, module, moduleResolution } = consumers[consumer];
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      module,
      moduleResolution,
      // What `tsc --init` sets; node10 apps need it for `import express from 'express'`.
      esModuleInterop: true,
      types: ['node'],
    },
    include: ['src'],
  };
  const file = join(project, dir, `tsconfig.${moduleResolution}.${module}.json`);
  writeFileSync(file, JSON.stringify(tsconfig));
  try {
    await run(process.execPath, [tsc, '-p', file], { encoding: 'utf8' });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('the published types', () => {
  it('type every method of req.session', () => {
    expect(everyMethodTyped).toBe(true);
  });

  // Each compile covers: no-internals.ts (no app reaches the store gateway, emits events or
  // signs cookies), express-types.ts (req.session with the app's SessionData and tessera's
  // methods, req.csrfToken), the README's quick start and, for the CJS consumer, cjs/require.ts
  // (`require('tessera/express')` typed as the session function).
  it.each(Object.keys(consumers) as Consumer[])('compile the consumers and the README quick start (%s)', async (consumer) => {
    expect(await compile(consumer)).toBe('');
  }, 60_000);
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
