/**
 * Build the benchmark's server and memory scripts with the package's own build tool (tsup, so
 * esbuild): ESM, `target: node20`, every package import left external, shared modules split into
 * chunks. The servers then run plain JavaScript made the way `npm run build` makes `dist/`, as
 * users' apps run it.
 *
 * Not tsx: tsx compiles with esbuild's `keepNames`, which wraps every function created at run
 * time in a `__name(fn, "name")` call. The drop-in creates a few closures per request, so under
 * tsx it pays for calls that the published build does not contain, while express-session
 * (plain JavaScript) pays nothing: the comparison would be skewed.
 *
 * tessera's Redis, PostgreSQL and MySQL stores are built when their source files exist. Run alone
 * (`node --import tsx bench/build.ts`) it builds for `micro.ts`.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(BENCH_DIR, '..');
/** Where the build goes (git-ignored). */
export const BUILD_DIR = join(BENCH_DIR, '.build');

/** Build into {@link BUILD_DIR}; returns the paths of the server (Express, and Fastify or Hono) and memory scripts. */
export async function buildBench(): Promise<{ server: string; frameworkServer: string; memory: string }> {
  const entry: Record<string, string> = {};
  for (const name of ['server', 'framework-server', 'memory', 'micro']) entry[`bench/${name}`] = join(BENCH_DIR, `${name}.ts`);
  for (const store of ['redis', 'postgres', 'mysql']) {
    const file = join(ROOT, 'src', 'store', `${store}.ts`);
    if (existsSync(file)) entry[`src/store/${store}`] = file;
  }
  await build({
    entry,
    outDir: BUILD_DIR,
    format: ['esm'],
    target: 'node20',
    splitting: true,
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    // Not the package's tsup.config.ts (its entries and dts build are for publishing).
    config: false,
    // Every package (express, the database clients, cookie, ...) is loaded from node_modules.
    external: [/^[^./]/],
  });
  return { server: join(BUILD_DIR, 'bench', 'server.js'), frameworkServer: join(BUILD_DIR, 'bench', 'framework-server.js'), memory: join(BUILD_DIR, 'bench', 'memory.js') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildBench();
