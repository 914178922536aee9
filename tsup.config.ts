import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      express: 'src/adapters/express/index.ts',
      fastify: 'src/adapters/fastify/index.ts',
      koa: 'src/adapters/koa/index.ts',
      web: 'src/adapters/web/index.ts',
      hono: 'src/adapters/hono/index.ts',
      next: 'src/adapters/next/index.ts',
      'stores/memory': 'src/store/memory.ts',
      'stores/sqlite': 'src/store/sqlite.ts',
      'stores/legacy': 'src/store/legacy.ts',
      'stores/postgres': 'src/store/postgres.ts',
      'stores/mysql': 'src/store/mysql.ts',
      'stores/redis': 'src/store/redis.ts',
      logging: 'src/logging.ts',
      testing: 'src/testing/index.ts',
      tokens: 'src/tokens/index.ts',
      // The browser kit: no Node API and no import from the rest (its size is checked in scripts/check-package.mjs).
      browser: 'src/browser/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    // `npm run build` empties dist/ first: a clean here would race with the client build below.
    clean: false,
    sourcemap: true,
    target: 'node20',
    splitting: true,
    // Gives the CJS build an `import.meta.url` (the SQLite store loads better-sqlite3 lazily with createRequire).
    shims: true,
    // `require('tessera/express')` must be the session function itself, as with express-session.
    cjsInterop: true,
    external: ['better-sqlite3', 'pg', 'mysql2', 'redis', 'ioredis'],
  },
  // tessera/client runs in browsers and React Native: one file per format, no shared chunk and no
  // import.meta.url shim (it would read `__filename`, which Metro does not define).
  {
    entry: { client: 'src/tokens/client.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: false,
    sourcemap: true,
    target: 'es2022',
    splitting: false,
    shims: false,
  },
]);
