/**
 * The Fastify and Hono rows of the benchmark (issue 12): tessera's Fastify plugin against
 * @fastify/session on the same store (its MemoryStore, and Redis through connect-redis 9 against
 * tessera's RedisStore), with bare Fastify as the ceiling; tessera's Hono middleware against bare
 * Hono, both on `@hono/node-server`. Served by `framework-server.ts`.
 * @module
 */
import type { Contender, Framework, StoreKind } from './config.js';
import type { RatioOf, Target } from './targets.js';

/** An entry of `run.ts`'s table (the same shape). */
export interface FrameworkEntry {
  id: string;
  label: string;
  contender: Contender;
  store: StoreKind;
  rival?: string;
  framework: Framework;
  ceiling: string;
}

export const FRAMEWORK_ENTRIES: readonly FrameworkEntry[] = [
  { id: 'fastify-bare', label: 'bare Fastify 5 (ceiling)', contender: 'bare', store: 'memory', framework: 'fastify', ceiling: 'fastify-bare' },
  { id: 'fastify-tessera-memory', label: 'tessera/fastify, MemoryStore', contender: 'tessera', store: 'memory', rival: 'fastify-fs-memory', framework: 'fastify', ceiling: 'fastify-bare' },
  { id: 'fastify-fs-memory', label: '@fastify/session, its MemoryStore', contender: 'fastify-session', store: 'memory', framework: 'fastify', ceiling: 'fastify-bare' },
  { id: 'fastify-tessera-redis', label: 'tessera/fastify, RedisStore', contender: 'tessera', store: 'redis', rival: 'fastify-fs-redis', framework: 'fastify', ceiling: 'fastify-bare' },
  { id: 'fastify-fs-redis', label: '@fastify/session, connect-redis 9', contender: 'fastify-session', store: 'redis', framework: 'fastify', ceiling: 'fastify-bare' },
  { id: 'hono-bare', label: 'bare Hono on @hono/node-server (ceiling)', contender: 'bare', store: 'memory', framework: 'hono', ceiling: 'hono-bare' },
  { id: 'hono-tessera-memory', label: 'tessera/hono, MemoryStore', contender: 'tessera', store: 'memory', framework: 'hono', ceiling: 'hono-bare' },
];

function atLeast(what: string, goal: number, value: number): Target {
  return { what, goal: `≥ ${goal}`, measured: Number.isFinite(value) ? value.toFixed(2) : 'n/a', met: Number.isNaN(value) ? null : value >= goal };
}

/**
 * Issue 12: a read with 100 sessions and with one hot session, tessera/fastify ≥ 0.7 × bare
 * Fastify and ≥ 1.8 × @fastify/session on the same store; tessera/hono ≥ 0.8 × bare Hono.
 * Targets whose scenario or entries this run left out are omitted.
 */
export function frameworkTargets(ratio: RatioOf, ran: (scenario: string, entry: string) => boolean): Target[] {
  const targets: Target[] = [];
  const both = (scenario: string, a: string, b: string): boolean => ran(scenario, a) && ran(scenario, b);
  for (const scenario of ['read', 'read-hot']) {
    const sessions = scenario === 'read' ? '100 sessions' : 'one hot session';
    for (const store of ['memory', 'redis']) {
      const tessera = `fastify-tessera-${store}`;
      if (both(scenario, tessera, 'fastify-bare')) targets.push(atLeast(`read, ${sessions}, ${store}: tessera/fastify × bare Fastify`, 0.7, ratio(scenario, tessera, 'fastify-bare')));
      if (both(scenario, tessera, `fastify-fs-${store}`)) {
        targets.push(atLeast(`read, ${sessions}, ${store}: tessera/fastify / @fastify/session`, 1.8, ratio(scenario, tessera, `fastify-fs-${store}`)));
      }
    }
    if (both(scenario, 'hono-tessera-memory', 'hono-bare')) targets.push(atLeast(`read, ${sessions}: tessera/hono × bare Hono`, 0.8, ratio(scenario, 'hono-tessera-memory', 'hono-bare')));
  }
  return targets;
}
