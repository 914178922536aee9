// Checks what `npm pack` would publish: every subpath export resolves and loads under both
// `import` and `require`, `require('tessera/express')` is the session function itself,
// `tessera/testing` exports `runStoreConformance`, every entry has its type declarations (for
// node10 too, through "typesVersions"), and nothing but dist/ and the metadata is packed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

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

const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
const stray = packed.files.map((f) => f.path).filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(p));
check(stray.length === 0, `npm pack would publish files outside dist/: ${stray.join(', ')}`);

if (failures.length > 0) {
  console.error(failures.map((f) => `✗ ${f}`).join('\n'));
  process.exit(1);
}
console.log(`package check: ${Object.keys(pkg.exports).length - 1} entries load as ESM and CJS, declarations for each, node10 included; ${packed.files.length} files packed`);
