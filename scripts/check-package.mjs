// Checks what `npm pack` would publish: every subpath export resolves and loads under both
// `import` and `require`, `require('tessera/express')` is the session function itself (and
// `require('tessera/fastify')` the plugin), every adapter's factory loads from both builds,
// `tessera/testing` exports `runStoreConformance`, `tessera/tokens` finds the optional `jose` for
// JWT access tokens from both builds, every entry has its type declarations (for
// node10 too, through "typesVersions"), @arethetypeswrong/cli finds no problem in the packed
// tarball, and nothing but dist/ and the metadata is packed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const require = createRequire(import.meta.url);
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};

for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue;
  const name = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  const esm = await import(name);
  const cjs = require(name);
  check(Object.keys(esm).length > 0, `${name}: the ESM build exports nothing`);
  check(cjs !== null && (typeof cjs === 'object' || typeof cjs === 'function'), `${name}: the CJS build exports nothing`);
  // Each condition names its declarations first ("types" must come before "default"): ESM
  // `.d.ts` beside the `.js`, CJS `.d.cts` beside the `.cjs`, so each build is typed as what it is.
  for (const [condition, extension, declarations] of [['import', '.js', '.d.ts'], ['require', '.cjs', '.d.cts']]) {
    const { types, default: file, ...rest } = target[condition] ?? {};
    check(Object.keys(target[condition] ?? {})[0] === 'types', `${name}: exports ${condition} must list "types" first`);
    check(Object.keys(rest).length === 0, `${name}: unexpected conditions under ${condition}: ${Object.keys(rest).join(', ')}`);
    check(typeof file === 'string' && file.endsWith(extension), `${name}: ${condition} should load a ${extension} file, not ${file}`);
    check(typeof file === 'string' && types === file.slice(0, -extension.length) + declarations, `${name}: ${condition} types should be ${declarations} beside ${file}, not ${types}`);
    check(typeof types === 'string' && existsSync(new URL(`../${types}`, import.meta.url)), `${name}: missing declarations ${types}`);
  }
  // node10 resolution ignores "exports": it finds a subpath's declarations in "typesVersions"
  // and the root's in "types", and its apps load the CJS build.
  const node10 = subpath === '.' ? pkg.types : pkg.typesVersions?.['*']?.[subpath.slice(2)]?.[0];
  check(node10 === target.require?.types, `${name}: node10 types should be ${target.require?.types}, not ${node10}`);
}

const session = require(`${pkg.name}/express`);
check(typeof session === 'function', "require('tessera/express') is not the session function");
for (const name of ['Store', 'MemoryStore', 'Cookie', 'Session', 'requireFresh']) {
  check(typeof session[name] === 'function', `session.${name} is missing from the CJS build`);
}
const { default: esmSession } = await import(`${pkg.name}/express`);
check(typeof esmSession === 'function' && typeof esmSession.MemoryStore === 'function',
  "import session from 'tessera/express' is not the session function");

// `require('tessera/fastify')` is the plugin itself with @fastify/session's statics, as
// `require('@fastify/session')` is; the other adapters export their factory under both builds.
const plugin = require(`${pkg.name}/fastify`);
check(typeof plugin === 'function', "require('tessera/fastify') is not the plugin function");
for (const name of ['Store', 'MemoryStore', 'Cookie', 'idGenerator', 'fastifySession', 'default']) {
  check(plugin[name] !== undefined, `fastifySession.${name} is missing from the CJS build`);
}
const { default: esmPlugin } = await import(`${pkg.name}/fastify`);
check(typeof esmPlugin === 'function' && typeof esmPlugin.MemoryStore === 'function', "import session from 'tessera/fastify' is not the plugin function");
for (const [subpath, factory] of [['web', 'createWebSessions'], ['hono', 'honoSessions'], ['koa', 'koaSessions'], ['next', 'nextSessions'], ['tokens', 'createTokens']]) {
  check(typeof (await import(`${pkg.name}/${subpath}`))[factory] === 'function', `import { ${factory} } from 'tessera/${subpath}' is not a function`);
  check(typeof require(`${pkg.name}/${subpath}`)[factory] === 'function', `require('tessera/${subpath}').${factory} is not a function`);
}

// tessera/client runs in browsers and React Native: it must import nothing (no Node built-in).
for (const [build, file] of [['ESM', 'client.js'], ['CJS', 'client.cjs']]) {
  const source = readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');
  check(!/\brequire\(|\bfrom\s*["']|\bimport\s*\(/.test(source), `tessera/client (${build}) must import nothing (no Node built-in, no dependency, no shared chunk)`);
}
check(typeof (await import(`${pkg.name}/client`)).createTokenClient === 'function', "import { createTokenClient } from 'tessera/client' is not a function");
check(typeof require(`${pkg.name}/client`).createTokenClient === 'function', "require('tessera/client').createTokenClient is not a function");

// Stateless access tokens load the optional peer `jose` lazily: from both builds, sign and verify one.
for (const [build, load] of [['ESM', (name) => import(name)], ['CJS', async (name) => require(name)]]) {
  try {
    const { createSessions } = await load(pkg.name);
    const { MemoryStore } = await load(`${pkg.name}/stores/memory`);
    const { createTokens } = await load(`${pkg.name}/tokens`);
    const tokens = createTokens(createSessions({ secret: 'package-check-secret-0123456789-abcdefghijk', store: new MemoryStore() }), { accessTokens: 'jwt' });
    const pair = await tokens.issue('package-check');
    check((await tokens.verifyAccess(pair.accessToken))?.userId === 'package-check', `tessera/tokens (${build}): a 'jwt' access token does not verify`);
  } catch (error) {
    check(false, `tessera/tokens (${build}): 'jwt' access tokens fail: ${error.message}`);
  }
}

// The conformance suite third-party stores run: loading it must not need a test runner.
const { runStoreConformance: esmConformance } = await import(`${pkg.name}/testing`);
const { runStoreConformance: cjsConformance } = require(`${pkg.name}/testing`);
check(typeof esmConformance === 'function', "import { runStoreConformance } from 'tessera/testing' is not a function");
check(typeof cjsConformance === 'function', "require('tessera/testing').runStoreConformance is not a function");

// Stores that load a driver lazily must find it from both builds (esbuild's ESM output has no
// working bare `require`).
const { SqliteStore: EsmSqlite } = await import(`${pkg.name}/stores/sqlite`);
const { SqliteStore: CjsSqlite } = require(`${pkg.name}/stores/sqlite`);
for (const [build, Store] of [['ESM', EsmSqlite], ['CJS', CjsSqlite]]) {
  try {
    const store = new Store({ database: ':memory:' });
    await store.close();
  } catch (error) {
    failures.push(`${build} SqliteStore cannot open a database: ${error.message}`);
  }
}

// tessera/browser ships to every page: at most 3 KB minified and gzipped (what a page downloads).
const BROWSER_KIT_MAX_BYTES = 3 * 1024;
{
  const { transform } = await import('esbuild');
  const { gzipSync } = await import('node:zlib');
  const source = readFileSync(new URL('../dist/browser.js', import.meta.url), 'utf8');
  const { code } = await transform(source, { minify: true, format: 'esm', loader: 'js' });
  const gzipped = gzipSync(code, { level: 9 }).length;
  check(gzipped <= BROWSER_KIT_MAX_BYTES, `tessera/browser is ${gzipped} bytes minified and gzipped, over ${BROWSER_KIT_MAX_BYTES}`);
  check(!/\brequire\(|\bfrom\s*["']/.test(source), 'tessera/browser must import nothing (no Node built-in, no dependency, no shared chunk)');
  console.log(`tessera/browser: ${code.length} bytes minified, ${gzipped} bytes gzipped (limit ${BROWSER_KIT_MAX_BYTES})`);
}

const packDir = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
let packedFiles = 0;
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const stray = packed.files.map((f) => f.path).filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(p));
  check(stray.length === 0, `npm pack would publish files outside dist/: ${stray.join(', ')}`);
  packedFiles = packed.files.length;

  // Are the types wrong, for each entry under node10, node16 (from ESM and from CJS) and
  // bundler? Offline: the packed tarball only, without looking up @types packages.
  // Problems we accept on purpose go here, each with why (none today).
  const accepted = [];
  const attw = join(require.resolve('@arethetypeswrong/cli/package.json'), '..', 'dist', 'index.js');
  let output;
  try {
    output = execFileSync(process.execPath, [attw, join(packDir, packed.filename), '--format', 'json', '--no-definitely-typed'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // attw exits non-zero when it finds a problem; its report is still on stdout.
    output = error.stdout;
    if (!output) failures.push(`attw did not run: ${error.stderr || error.message}`);
  }
  if (output) {
    const { analysis } = JSON.parse(output);
    for (const problem of analysis?.problems ?? []) {
      if (accepted.includes(problem.kind)) continue;
      const where = [problem.entrypoint, problem.resolutionKind].filter(Boolean).join(', ');
      failures.push(`attw: ${problem.kind}${where ? ` (${where})` : ''}: ${JSON.stringify(problem)}`);
    }
  }
} finally {
  rmSync(packDir, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(failures.map((f) => `✗ ${f}`).join('\n'));
  process.exit(1);
}
console.log(`package check: ${Object.keys(pkg.exports).length - 1} entries load as ESM and CJS, typed for node10, node16 and bundler (attw: no problems); ${packedFiles} files packed`);
