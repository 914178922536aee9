/**
 * The ratios issue 11 asks of the benchmark (delta writes and hot sessions), checked on one
 * run's samples. The issue-4 targets stay beside the report in `run.ts`.
 * @module
 */

/** One line of the report's targets table. */
export interface Target {
  what: string;
  goal: string;
  measured: string;
  /** `null` when the run has no samples for it. */
  met: boolean | null;
}

/** The median per-round req/s ratio of entry `a` over entry `b` in a scenario (NaN when either is missing). */
export type RatioOf = (scenario: string, a: string, b: string) => number;

const fixed = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

/** A "≥ goal" target; not met when the ratio is missing from this run. */
function atLeast(what: string, goal: number, value: number, note = ''): Target {
  return { what, goal: `≥ ${goal}`, measured: `${fixed(value)}${note}`, met: Number.isNaN(value) ? null : value >= goal };
}

/**
 * Issue 11: hot-session and 100-session writes ≥ 1.5 × express-session on the same store; the
 * native memory store's read ≥ 1.5 × and not slower than the legacy path; Redis read ≥ 1.8 ×,
 * PostgreSQL read ≥ 2.5 ×. Targets whose scenario or entries this run left out are omitted.
 */
export function issue11Targets(ratio: RatioOf, ran: (scenario: string, entry: string) => boolean): Target[] {
  const targets: Target[] = [];
  const pairs: Array<[store: string, tessera: string, rival: string]> = [
    ['memory', 'tessera-memory', 'es-memory'],
    ['Redis', 'tessera-redis', 'es-redis'],
    ['PostgreSQL', 'tessera-postgres', 'es-postgres'],
    ['MySQL', 'tessera-mysql', 'es-mysql'],
    ['SQLite', 'tessera-sqlite', 'es-sqlite'],
  ];
  const both = (scenario: string, a: string, b: string): boolean => ran(scenario, a) && ran(scenario, b);
  for (const [store, tessera, rival] of pairs.slice(0, 3)) {
    if (both('write-hot', tessera, rival)) {
      targets.push(atLeast(`write, one hot session, ${store}: tessera / express-session`, 1.5, ratio('write-hot', tessera, rival)));
    }
  }
  for (const [store, tessera, rival] of pairs) {
    if (both('write', tessera, rival)) {
      targets.push(atLeast(`write, 100 sessions, ${store}: tessera / express-session`, 1.5, ratio('write', tessera, rival)));
    }
  }
  if (both('read', 'tessera-memory', 'es-memory')) {
    targets.push(atLeast('read, own MemoryStore: tessera / express-session', 1.5, ratio('read', 'tessera-memory', 'es-memory')));
  }
  for (const scenario of ['read', 'read-hot']) {
    if (both(scenario, 'tessera-memory', 'tessera-legacy-memory')) {
      targets.push(
        atLeast(`${scenario}, own MemoryStore / drop-in on session.MemoryStore (not slower)`, 1, ratio(scenario, 'tessera-memory', 'tessera-legacy-memory')),
      );
    }
  }
  if (both('read', 'tessera-redis', 'es-redis')) targets.push(atLeast('read, Redis: tessera / express-session + connect-redis', 1.8, ratio('read', 'tessera-redis', 'es-redis')));
  if (both('read', 'tessera-postgres', 'es-postgres')) {
    targets.push(atLeast('read, PostgreSQL: tessera / express-session + connect-pg-simple', 2.5, ratio('read', 'tessera-postgres', 'es-postgres')));
  }
  return targets;
}
