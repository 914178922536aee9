/**
 * The benchmark driver: `npm run bench` (about 8 minutes on 2 cores) or
 * `npm run bench -- --quick` (about 75 s). Writes `bench/RESULTS.md`.
 *
 * For each scenario it starts one server per contender, each in its own child process on
 * 127.0.0.1 (`server.ts`), pinned to the last core while this process and its load generator
 * (autocannon, 10 connections) run on the first one when `taskset` is available. Every round
 * measures each contender once, in a rotated order (A B C, B C A, ...), each measurement a
 * warm-up followed by a measured window; the server reports its own CPU time over the window.
 * The table gives medians over rounds and the median of the per-round ratios, which is what to
 * read on a shared machine: absolute req/s are noise, ratios measured side by side are not.
 *
 * Options: `--quick`; `--rounds=N`; `--duration=S` (measured window, seconds); `--warmup=S`;
 * `--scenarios=anonymous,read`; `--stores=memory,redis`; `--frameworks=fastify,hono` (default all three, Express included); `--no-memory` (skip the 100k-session
 * memory measurement); `--profile` (servers run with `--cpu-prof`, profiles in bench/profiles);
 * `--tsx` (run the servers from the sources through tsx); `--out=FILE`.
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MYSQL_URL, POSTGRES_URL, postgresTable, REDIS_URL, redisPrefix, STORE_KINDS, type Contender, type Framework, type ServerConfig, type StoreKind } from './config.js';
import { FRAMEWORK_ENTRIES, frameworkTargets } from './framework-entries.js';
import { buildBench } from './build.js';
import { tesseraStoreAvailable } from './stores.js';
import { issue11Targets, type Target } from './targets.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const CONNECTIONS = 10;
/** Sessions created per server for the cookie scenarios; more than connections, so no two requests in flight share one. */
const SESSIONS_PER_SERVER = 100;
/** Sessions of the hot scenarios: every connection on one session (one user whose page fires parallel requests). */
const HOT_SESSIONS = 1;

// ---------------------------------------------------------------------------------------------
// What is measured

/** A request shape the load generator repeats. */
interface Scenario {
  id: 'anonymous' | 'read' | 'write' | 'read-hot' | 'write-hot' | 'signin';
  title: string;
  method: 'GET' | 'POST';
  path: string;
  /** Send a valid session cookie (one of {@link Scenario.sessions}, round-robin). */
  withCookie: boolean;
  /** How many sessions the cookies are spread over (with a cookie). */
  sessions: number;
}

const SCENARIOS: readonly Scenario[] = [
  { id: 'anonymous', title: 'anonymous (no cookie, session untouched)', method: 'GET', path: '/anon', withCookie: false, sessions: 0 },
  { id: 'read', title: 'read (valid cookie, session only read)', method: 'GET', path: '/read', withCookie: true, sessions: SESSIONS_PER_SERVER },
  { id: 'write', title: 'write (valid cookie, one key changed)', method: 'GET', path: '/write', withCookie: true, sessions: SESSIONS_PER_SERVER },
  { id: 'read-hot', title: 'read, one hot session (every connection on one session)', method: 'GET', path: '/read', withCookie: true, sessions: HOT_SESSIONS },
  { id: 'write-hot', title: 'write, one hot session (every connection on one session)', method: 'GET', path: '/write', withCookie: true, sessions: HOT_SESSIONS },
  { id: 'signin', title: 'sign-in (regenerate, new session written)', method: 'POST', path: '/signin', withCookie: false, sessions: 0 },
];

/** One server configuration that competes in every scenario. */
interface Entry {
  id: string;
  label: string;
  contender: Contender;
  store: StoreKind;
  /** For a tessera entry: the express-session entry it is compared with. */
  rival?: string;
  /** tessera's drop-in on the rival's express-session store (see `ServerConfig.legacy`). */
  legacy?: boolean;
  /** Fastify or Hono (`framework-server.ts`); absent: Express. */
  framework?: Framework;
  /** The bare entry "× bare" compares with. @default 'bare' (Express) */
  ceiling?: string;
}

const ENTRIES: readonly Entry[] = [
  { id: 'bare', label: 'bare Express 5 (ceiling)', contender: 'bare', store: 'memory' },
  { id: 'tessera-memory', label: 'tessera, MemoryStore', contender: 'tessera', store: 'memory', rival: 'es-memory' },
  { id: 'tessera-legacy-memory', label: 'tessera drop-in, session.MemoryStore', contender: 'tessera', store: 'memory', rival: 'es-memory', legacy: true },
  { id: 'es-memory', label: 'express-session, MemoryStore', contender: 'express-session', store: 'memory' },
  { id: 'tessera-sqlite', label: 'tessera, SqliteStore', contender: 'tessera', store: 'sqlite', rival: 'es-sqlite' },
  { id: 'es-sqlite', label: 'express-session, better-sqlite3-session-store', contender: 'express-session', store: 'sqlite' },
  { id: 'tessera-redis', label: 'tessera, RedisStore', contender: 'tessera', store: 'redis', rival: 'es-redis' },
  { id: 'tessera-legacy-redis', label: 'tessera drop-in, connect-redis 9', contender: 'tessera', store: 'redis', rival: 'es-redis', legacy: true },
  { id: 'es-redis', label: 'express-session, connect-redis 9', contender: 'express-session', store: 'redis' },
  { id: 'tessera-postgres', label: 'tessera, PostgresStore', contender: 'tessera', store: 'postgres', rival: 'es-postgres' },
  { id: 'tessera-legacy-postgres', label: 'tessera drop-in, connect-pg-simple 10', contender: 'tessera', store: 'postgres', rival: 'es-postgres', legacy: true },
  { id: 'es-postgres', label: 'express-session, connect-pg-simple 10', contender: 'express-session', store: 'postgres' },
  { id: 'tessera-mysql', label: 'tessera, MysqlStore', contender: 'tessera', store: 'mysql', rival: 'es-mysql' },
  { id: 'es-mysql', label: 'express-session, express-mysql-session 3', contender: 'express-session', store: 'mysql' },
  ...FRAMEWORK_ENTRIES,
];

// ---------------------------------------------------------------------------------------------
// Options

interface Settings {
  quick: boolean;
  rounds: number;
  /** Warm-up before the first measurement of a server, seconds (JIT, connection pools). */
  firstWarmup: number;
  /** Warm-up before later measurements, seconds. */
  warmup: number;
  /** Measured window, seconds. */
  duration: number;
  scenarios: readonly Scenario[];
  stores: readonly StoreKind[];
  /** The frameworks whose entries run. */
  frameworks: readonly Framework[];
  memory: boolean;
  memorySessions: number;
  profile: boolean;
  /** Run the servers from the sources through tsx instead of an esbuild build like the package's. */
  tsx: boolean;
  out: string;
}

function parseSettings(argv: readonly string[]): Settings {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}`);
    flags.set(match[1]!, match[2] ?? 'true');
  }
  const known = ['tsx', 'quick', 'rounds', 'duration', 'warmup', 'scenarios', 'stores', 'frameworks', 'no-memory', 'profile', 'out'];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}`);
  const quick = flags.has('quick');
  const number = (name: string, fallback: number): number => {
    const value = Number(flags.get(name) ?? fallback);
    if (!(value > 0)) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const list = (name: string): string[] | undefined => flags.get(name)?.split(',').filter(Boolean);
  const scenarioIds = list('scenarios');
  const stores = (list('stores') ?? STORE_KINDS) as StoreKind[];
  return {
    quick,
    rounds: Math.round(number('rounds', quick ? 2 : 4)),
    firstWarmup: quick ? 0.4 : 1.5,
    warmup: number('warmup', quick ? 0.1 : 0.5),
    duration: number('duration', quick ? 0.5 : 2),
    scenarios: scenarioIds ? SCENARIOS.filter((s) => scenarioIds.includes(s.id)) : SCENARIOS,
    stores,
    frameworks: (list('frameworks') ?? ['express', 'fastify', 'hono']) as Framework[],
    memory: !flags.has('no-memory'),
    memorySessions: quick ? 20_000 : 100_000,
    profile: flags.has('profile'),
    tsx: flags.has('tsx'),
    out: flags.get('out') ?? join(BENCH_DIR, 'RESULTS.md'),
  };
}

// ---------------------------------------------------------------------------------------------
// Cores

/** `taskset` pinning: this process (and autocannon) on the first core, servers on the last. */
interface Pinning {
  load: number;
  server: number;
}

/** Cores of the machine, read before this process pins itself (which would make it 1). */
const CORES = availableParallelism();

function pinCores(): Pinning | null {
  const count = CORES;
  if (count < 2 || process.platform !== 'linux') return null;
  try {
    execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
    return { load: 0, server: count - 1 };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

/** The scripts servers and memory measurements run, and the node flags they need. */
interface Scripts {
  server: string;
  /** The Fastify and Hono server. */
  frameworkServer: string;
  memory: string;
  nodeArgs: string[];
  /** How they were made, for the report. */
  how: string;
}

let scripts: Scripts = {
  server: join(BENCH_DIR, 'server.ts'),
  frameworkServer: join(BENCH_DIR, 'framework-server.ts'),
  memory: join(BENCH_DIR, 'memory.ts'),
  nodeArgs: ['--import', 'tsx'],
  how: 'from the TypeScript sources through tsx',
};

interface ServerReport {
  cpuMicros: number;
  requests: number;
  rss: number;
  heapUsed: number;
}

/** A running benchmark server and its IPC channel. */
class BenchServer {
  readonly entry: Entry;
  readonly child: ChildProcess;
  port = 0;
  cookies: string[] = [];
  #stderr = '';
  #stopping = false;
  #waiters = new Map<string, (message: Record<string, unknown>) => void>();

  constructor(entry: Entry, config: ServerConfig, pinning: Pinning | null, profile: boolean) {
    this.entry = entry;
    const nodeArgs = [...scripts.nodeArgs];
    if (profile) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(BENCH_DIR, 'profiles', entry.id)}`);
    const argv = [...nodeArgs, entry.framework === undefined ? scripts.server : scripts.frameworkServer];
    const [command, args] = pinning ? ['taskset', ['-c', String(pinning.server), process.execPath, ...argv]] : [process.execPath, argv];
    this.child = spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    // A server that died is reported by the waiter that expected its answer.
    this.child.on('error', () => undefined);
    this.child.on('exit', (code, signal) => {
      if (!this.#stopping) console.error(`${entry.id}: server exited early (${code ?? signal})\n${this.#stderr}`);
    });
    this.child.on('message', (message: Record<string, unknown>) => {
      const waiter = this.#waiters.get(String(message['type']));
      this.#waiters.delete(String(message['type']));
      waiter?.(message);
    });
  }

  /** Wait for a message of `type` (after sending `send`, if given). */
  #expect(type: string, send?: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.entry.id}: no "${type}" within ${timeoutMs} ms\n${this.#stderr}`)), timeoutMs);
      const exit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${this.entry.id} exited (${code}) waiting for "${type}"\n${this.#stderr}`));
      };
      this.child.once('exit', exit);
      this.#waiters.set(type, (message) => {
        clearTimeout(timer);
        this.child.off('exit', exit);
        resolve(message);
      });
      if (send !== undefined) this.child.send({ type: send });
    });
  }

  async ready(): Promise<void> {
    const message = await this.#expect('ready');
    this.port = Number(message['port']);
  }

  async mark(): Promise<void> {
    await this.#expect('marked', 'mark');
  }

  async report(): Promise<ServerReport> {
    return (await this.#expect('report', 'report')) as unknown as ServerReport;
  }

  /** Create `count` sessions through `POST /setup`; keep their cookies (`name=value`). */
  async createSessions(count: number): Promise<void> {
    if (this.entry.contender === 'bare') {
      // Same header size as a real cookie, so the bare server parses the same bytes.
      this.cookies = Array.from({ length: count }, () => `connect.sid=s%3A${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64').replace(/=+$/, '')}`);
      return;
    }
    const cookies: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await fetch(`http://127.0.0.1:${this.port}/setup`, { method: 'POST' });
      await response.arrayBuffer();
      const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
      if (!response.ok || cookie === undefined) throw new Error(`${this.entry.id}: /setup gave ${response.status} without a cookie\n${this.#stderr}`);
      cookies.push(cookie);
    }
    this.cookies = cookies;
  }

  /**
   * One request of the scenario before it is measured, to prove the server does the work the
   * scenario names: a read answers the signed-in user's data, a write answers a count that the
   * next write raises by one (the change was stored), a sign-in sets a cookie. A contender that
   * answered 200 without its session would otherwise look fast. @throws with what came back.
   */
  async check(scenario: Scenario): Promise<void> {
    const bare = this.entry.contender === 'bare';
    const call = async (): Promise<{ body: string; cookie: boolean }> => {
      const headers: Record<string, string> = scenario.withCookie ? { cookie: this.cookies[0]! } : {};
      const response = await fetch(`http://127.0.0.1:${this.port}${scenario.path}`, { method: scenario.method, headers });
      const body = await response.text();
      if (!response.ok) throw new Error(`${this.entry.id}: ${scenario.method} ${scenario.path} gave ${response.status}: ${body}\n${this.#stderr}`);
      return { body, cookie: response.headers.getSetCookie().length > 0 };
    };
    const wrong = (what: string): Error => new Error(`${this.entry.id}: ${scenario.method} ${scenario.path} ${what}`);
    const first = await call();
    switch (scenario.path) {
      case '/read':
        if (!/^user-\d+:dark$/.test(first.body)) throw wrong(`answered ${JSON.stringify(first.body)}, not the session's user and theme`);
        break;
      case '/write': {
        if (bare) break;
        const second = await call();
        if (Number(second.body) !== Number(first.body) + 1) throw wrong(`counted ${first.body} then ${second.body}: the write was not stored`);
        break;
      }
      case '/signin':
        if (!bare && !first.cookie) throw wrong('set no session cookie');
        break;
      default:
        if (first.body !== 'ok') throw wrong(`answered ${JSON.stringify(first.body)}`);
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ type: 'stop' }, () => undefined);
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Load

/** One measurement of one server. */
interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
  failures: number;
}

const startedAt = performance.now();
/** Seconds since the run began, for the progress lines. */
const elapsed = (): string => `${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s`;

const sleep = (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/**
 * One measurement: a single autocannon run, of which the first `warmup` seconds are not
 * counted. At the end of the warm-up the server marks its CPU time; `duration` seconds later
 * it reports the CPU time and requests since the mark, and the run stops. (autocannon ends a
 * run only on a whole second, so warm-up and window are not two runs.) Latencies are kept at
 * full resolution: autocannon's own histogram rounds them to whole milliseconds.
 */
async function measure(server: BenchServer, scenario: Scenario, warmup: number, duration: number): Promise<Sample> {
  const latencies: number[] = [];
  let measuring = false;
  let succeeded = 0;
  let failures = 0;
  let next = 0;
  const cookies = server.cookies;
  const request = scenario.withCookie
    ? {
        method: scenario.method,
        path: scenario.path,
        setupRequest: (req: { headers?: Record<string, string> }) => {
          req.headers = { ...req.headers, cookie: cookies[next++ % cookies.length]! };
          return req;
        },
      }
    : { method: scenario.method, path: scenario.path };
  let instance: ReturnType<typeof autocannon> | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    instance = autocannon(
      // The duration is only a bound: the run is stopped when the window closes.
      { url: `http://127.0.0.1:${server.port}`, connections: CONNECTIONS, duration: Math.ceil(warmup + duration) + 10, requests: [request] },
      (error) => (error ? reject(error) : resolve()),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (!measuring) return;
      if (status >= 200 && status < 300) {
        succeeded++;
        latencies.push(ms);
      } else {
        failures++;
      }
    });
    instance.on('reqError', () => {
      if (measuring) failures++;
    });
  });
  await sleep(warmup);
  await server.mark();
  measuring = true;
  const started = performance.now();
  await sleep(duration);
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  const report = await server.report();
  instance!.stop();
  await finished;
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: succeeded / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuPerRequest: report.requests > 0 ? report.cpuMicros / report.requests : NaN,
    failures,
  };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// Stores on servers: availability, preparation, cleanup

interface Availability {
  entries: Entry[];
  /** One line per store left out, and why. */
  skipped: string[];
  redisVersion?: string;
  postgresVersion?: string;
  mysqlVersion?: string;
}

async function checkAvailability(settings: Settings): Promise<Availability> {
  const skipped: string[] = [];
  const result: Availability = { entries: [], skipped };
  const storeOk = new Map<StoreKind, boolean>();
  for (const store of STORE_KINDS) {
    if (!settings.stores.includes(store)) {
      storeOk.set(store, false);
      continue;
    }
    if (!tesseraStoreAvailable(store)) {
      skipped.push(`${store}: skipped, tessera has no ${store} store yet (src/store/${store}.ts does not exist).`);
      storeOk.set(store, false);
      continue;
    }
    if (store === 'redis') {
      try {
        result.redisVersion = await redisVersion();
      } catch (error) {
        skipped.push(`redis: skipped, no Redis server at ${REDIS_URL} (${(error as Error).message}).`);
        storeOk.set(store, false);
        continue;
      }
    }
    if (store === 'mysql') {
      try {
        result.mysqlVersion = await mysqlVersion();
      } catch (error) {
        skipped.push(`mysql: skipped, no MySQL/MariaDB server at ${redactUrl(MYSQL_URL)} (${(error as Error).message}).`);
        storeOk.set(store, false);
        continue;
      }
    }
    if (store === 'postgres') {
      try {
        result.postgresVersion = await postgresVersion();
      } catch (error) {
        skipped.push(`postgres: skipped, no PostgreSQL server at ${redactUrl(POSTGRES_URL)} (${(error as Error).message}).`);
        storeOk.set(store, false);
        continue;
      }
    }
    storeOk.set(store, true);
  }
  result.entries = ENTRIES.filter((e) => settings.frameworks.includes(e.framework ?? 'express') && (e.contender === 'bare' || storeOk.get(e.store) === true));
  return result;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

async function redisVersion(): Promise<string> {
  const { createClient } = await import('redis');
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    await client.close();
  }
}

async function postgresVersion(): Promise<string> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function mysqlVersion(): Promise<string> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2_000 });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS version');
    return (rows as Array<{ version?: string }>)[0]?.version ?? 'unknown';
  } finally {
    await connection.end();
  }
}

/** Before an express-session server starts on PostgreSQL: its table (connect-pg-simple's fixed index names would collide). */
async function preparePostgres(namespace: string): Promise<void> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const table = postgresTable(namespace);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${table}" (sid varchar NOT NULL COLLATE "default" PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`,
    );
    await client.query(`CREATE INDEX IF NOT EXISTS "${table}_expire" ON "${table}" (expire)`);
  } finally {
    await client.end();
  }
}

/** Remove what the servers left in Redis, PostgreSQL and the temporary directory. */
async function cleanUp(namespaces: readonly { store: StoreKind; namespace: string; file?: string }[]): Promise<void> {
  const redis = namespaces.filter((n) => n.store === 'redis');
  if (redis.length > 0) {
    const { createClient } = await import('redis');
    const client = createClient({ url: REDIS_URL });
    client.on('error', () => undefined);
    await client.connect();
    for (const { namespace } of redis) {
      for await (const keys of client.scanIterator({ MATCH: `${redisPrefix(namespace)}*`, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys);
      }
    }
    await client.close();
  }
  const postgres = namespaces.filter((n) => n.store === 'postgres');
  if (postgres.length > 0) {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    for (const { namespace } of postgres) await client.query(`DROP TABLE IF EXISTS "${postgresTable(namespace)}"`);
    await client.end();
  }
  const mysqlTables = namespaces.filter((n) => n.store === 'mysql');
  if (mysqlTables.length > 0) {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    for (const { namespace } of mysqlTables) await connection.query(`DROP TABLE IF EXISTS \`${postgresTable(namespace)}\``);
    await connection.end();
  }
  for (const { file } of namespaces) {
    if (file === undefined) continue;
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The run

type Samples = Map<string, Map<string, Sample[]>>; // scenario → entry → one sample per round

async function runScenario(
  scenario: Scenario,
  entries: readonly Entry[],
  settings: Settings,
  pinning: Pinning | null,
  runId: string,
  created: { store: StoreKind; namespace: string; file?: string }[],
): Promise<Map<string, Sample[]>> {
  const servers: BenchServer[] = [];
  try {
    for (const entry of entries) {
      const namespace = `${entry.id}_${scenario.id}_${runId}`.replace(/-/g, '_');
      const config: ServerConfig = { contender: entry.contender, store: entry.store, namespace, ...(entry.legacy === true && { legacy: true }), ...(entry.framework && { framework: entry.framework }) };
      if (entry.store === 'sqlite') config.sqliteFile = join(tmpdir(), `tessera-bench-${namespace}.db`);
      if (entry.store === 'redis') config.redisUrl = REDIS_URL;
      if (entry.store === 'postgres') config.postgresUrl = POSTGRES_URL;
      if (entry.store === 'mysql') config.mysqlUrl = MYSQL_URL;
      if (entry.contender !== 'bare') {
        created.push({ store: entry.store, namespace, ...(config.sqliteFile !== undefined && { file: config.sqliteFile }) });
      }
      if (entry.store === 'postgres' && (entry.contender === 'express-session' || entry.legacy === true)) await preparePostgres(namespace);
      servers.push(new BenchServer(entry, config, pinning, settings.profile));
    }
    // Start-up and session creation of all servers at once: none is measured yet.
    await Promise.all(servers.map((server) => server.ready()));
    if (scenario.withCookie) await Promise.all(servers.map((server) => server.createSessions(scenario.sessions)));
    await Promise.all(servers.map((server) => server.check(scenario)));
    const samples = new Map<string, Sample[]>(entries.map((e) => [e.id, []]));
    for (let round = 0; round < settings.rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      for (const server of order) {
        const warmup = round === 0 ? settings.firstWarmup : settings.warmup;
        const sample = await measure(server, scenario, warmup, settings.duration);
        samples.get(server.entry.id)!.push(sample);
        process.stdout.write(
          `${elapsed()} ${scenario.id.padEnd(9)} round ${round + 1}/${settings.rounds}  ${server.entry.label.padEnd(40)} ` +
            `${sample.rps.toFixed(0).padStart(6)} req/s  cpu ${sample.cpuPerRequest.toFixed(1).padStart(6)} µs/req` +
            `${sample.failures > 0 ? `  (${sample.failures} failed)` : ''}\n`,
        );
      }
    }
    return samples;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

interface MemoryResult {
  label: string;
  sessions: number;
  kept: number;
  heapPerSession: number;
  rssPerSession: number;
  heapDeltaMiB: number;
  rssDeltaMiB: number;
}

function measureMemory(variant: string, sessions: number, pinning: Pinning | null): MemoryResult {
  const argv = ['--expose-gc', ...scripts.nodeArgs, scripts.memory, variant, String(sessions)];
  const output = pinning
    ? execFileSync('taskset', ['-c', String(pinning.server), process.execPath, ...argv], { cwd: ROOT, encoding: 'utf8' })
    : execFileSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop()!) as MemoryResult;
}

// ---------------------------------------------------------------------------------------------
// Report

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${rev} + uncommitted changes in src/` : rev;
  } catch {
    return 'unknown';
  }
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function perRoundRatios(a: readonly Sample[] | undefined, b: readonly Sample[] | undefined): number[] {
  if (!a || !b) return [];
  return a.map((sample, i) => (b[i] ? sample.rps / b[i].rps : NaN)).filter((r) => !Number.isNaN(r));
}

/** Per round: CPU time per request of `b` over that of `a` (the throughput ratio if both were CPU-bound). */
function perRoundCpuRatios(a: readonly Sample[] | undefined, b: readonly Sample[] | undefined): number[] {
  if (!a || !b) return [];
  return a.map((sample, i) => (b[i] ? b[i].cpuPerRequest / sample.cpuPerRequest : NaN)).filter((r) => !Number.isNaN(r));
}

function ratioCell(ratios: readonly number[]): string {
  if (ratios.length === 0) return '';
  return `**${fixed(median(ratios), 2)}** (${ratios.map((r) => fixed(r, 2)).join(', ')})`;
}

function writeReport(
  settings: Settings,
  availability: Availability,
  samples: Samples,
  memory: MemoryResult[],
  pinning: Pinning | null,
  seconds: number,
): string {
  const lines: string[] = [];
  const out = (line = ''): void => {
    lines.push(line);
  };
  const entries = availability.entries;
  const byId = new Map(entries.map((e) => [e.id, e]));
  out('# Benchmark results');
  out();
  out(`Written by \`npm run bench${settings.quick ? ' -- --quick' : ''}\` on ${new Date().toISOString()}; the run took ${Math.round(seconds)} s.`);
  if (settings.quick) out('This is a **quick** run (short windows, two rounds): a smoke test, not a measurement to quote.');
  out();
  out('## Machine and versions');
  out();
  out(`- ${CORES} cores (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}, ${process.platform} ${process.arch}`);
  out(
    pinning
      ? `- servers pinned to core ${pinning.server}, this driver and autocannon to core ${pinning.load} (\`taskset\`); Redis and PostgreSQL are not pinned and share the cores`
      : '- no core pinning (taskset unavailable or a single core): load generator and server share the cores',
  );
  out(
    `- tessera ${packageVersion('../')} (${gitRevision()}), ${scripts.how}; ` +
      `express ${packageVersion('express')}, express-session ${packageVersion('express-session')}, connect-redis ${packageVersion('connect-redis')}, ` +
      `connect-pg-simple ${packageVersion('connect-pg-simple')}, redis (node-redis) ${packageVersion('redis')}, pg ${packageVersion('pg')}, ` +
      `better-sqlite3 ${packageVersion('better-sqlite3')}, better-sqlite3-session-store ${packageVersion('better-sqlite3-session-store')}, ` +
      `mysql2 ${packageVersion('mysql2')}, express-mysql-session ${packageVersion('express-mysql-session')}, autocannon ${packageVersion('autocannon')}`,
  );
  out(
    `- Redis server ${availability.redisVersion ?? 'not used'}, PostgreSQL server ${availability.postgresVersion ?? 'not used'}, ` +
      `MySQL/MariaDB server ${availability.mysqlVersion ?? 'not used'}`,
  );
  out(
    `- ${CONNECTIONS} connections, ${settings.rounds} rounds; each measurement: warm-up ${settings.firstWarmup} s (first round) or ` +
      `${settings.warmup} s, then a ${settings.duration} s measured window; ${SESSIONS_PER_SERVER} sessions per server for the cookie scenarios ` +
      `(round-robin), ${HOT_SESSIONS} for the hot ones`,
  );
  for (const line of availability.skipped) out(`- **${line}**`);
  out();
  out('## Throughput, latency, CPU');
  out();
  out('Medians over the rounds. "× bare" and "tessera / rival" are medians of per-round ratios (each round in parentheses);');
  out('"× bare" compares with the bare server of the same framework (Express, Fastify or Hono), "rival" is express-session or @fastify/session;');
  out('"tessera drop-in" rows run tessera\'s Express drop-in on the express-session store of their row (what the one-line switch');
  out('gives before moving to a tessera store); "-hot" scenarios put every connection on one session.');
  out('CPU is the server process\'s own user + system time over the measured window, divided by the requests it served;');
  out('the "by CPU" ratios compare those costs per round (the throughput ratio if both servers were CPU-bound), which');
  out('other processes on a shared machine disturb less than they disturb req/s.');
  out();
  out('| scenario | contender | req/s | p50 ms | p99 ms | CPU µs/req | × bare | tessera / rival | × bare, by CPU | tessera / rival, by CPU |');
  out('| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |');
  for (const scenario of settings.scenarios) {
    const bySample = samples.get(scenario.id);
    if (!bySample) continue;
    for (const entry of entries) {
      const bare = bySample.get(entry.ceiling ?? 'bare');
      const list = bySample.get(entry.id);
      if (!list || list.length === 0) continue;
      const failures = list.reduce((sum, s) => sum + s.failures, 0);
      const rival = entry.rival === undefined ? undefined : bySample.get(entry.rival);
      out(
        `| ${scenario.id} | ${entry.label}${failures > 0 ? ` (${failures} non-2xx/errors)` : ''} | ${fixed(median(list.map((s) => s.rps)), 0)} | ` +
          `${fixed(median(list.map((s) => s.p50)), 2)} | ${fixed(median(list.map((s) => s.p99)), 2)} | ` +
          `${fixed(median(list.map((s) => s.cpuPerRequest)), 1)} | ${entry.contender === 'bare' ? '1' : ratioCell(perRoundRatios(list, bare))} | ` +
          `${entry.rival !== undefined ? ratioCell(perRoundRatios(list, rival)) : ''} | ` +
          `${entry.contender === 'bare' ? '1' : fixed(median(perRoundCpuRatios(list, bare)), 2)} | ` +
          `${entry.rival !== undefined ? fixed(median(perRoundCpuRatios(list, rival)), 2) : ''} |`,
      );
    }
  }
  out();

  // Targets (issue 4).
  const ratioTo = (scenario: string, a: string, b: string): number => median(perRoundRatios(samples.get(scenario)?.get(a), samples.get(scenario)?.get(b)));
  const targets: Target[] = [];
  const add = (what: string, goal: number, value: number, note = ''): void => {
    targets.push({ what, goal: `≥ ${goal}`, measured: `${fixed(value, 2)}${note}`, met: Number.isNaN(value) ? null : value >= goal });
  };
  if (samples.has('anonymous') && byId.has('tessera-memory')) {
    add('anonymous, tessera × bare Express', 0.95, ratioTo('anonymous', 'tessera-memory', 'bare'), ` (express-session: ${fixed(ratioTo('anonymous', 'es-memory', 'bare'), 2)})`);
  }
  if (samples.has('read') && byId.has('tessera-memory')) {
    add('read, memory store, tessera × bare Express', 0.85, ratioTo('read', 'tessera-memory', 'bare'), ` (express-session: ${fixed(ratioTo('read', 'es-memory', 'bare'), 2)})`);
  }
  // Store reads and writes against express-session: issue 11's targets (bench/targets.ts), which supersede issue 4's.
  const tesseraMemory = memory.find((m) => m.label.startsWith('tessera'));
  const esMemory = memory.find((m) => m.label.startsWith('express-session'));
  if (tesseraMemory && esMemory) {
    targets.push({
      what: 'heap per session, tessera MemoryStore vs express-session MemoryStore',
      goal: `≤ ${fixed(esMemory.heapPerSession / 2, 0)} B (half)`,
      measured: `${fixed(tesseraMemory.heapPerSession, 0)} B (express-session: ${fixed(esMemory.heapPerSession, 0)} B)`,
      met: tesseraMemory.heapPerSession <= esMemory.heapPerSession / 2,
    });
  }
  targets.push(...issue11Targets(ratioTo, (scenario, id) => (samples.get(scenario)?.get(id)?.length ?? 0) > 0));
  targets.push(...frameworkTargets(ratioTo, (scenario, id) => (samples.get(scenario)?.get(id)?.length ?? 0) > 0));
  out('## Targets (issues 4, 11 and 12)');
  out();
  out('| target | goal | this run | met |');
  out('| --- | --- | --- | --- |');
  for (const t of targets) out(`| ${t.what} | ${t.goal} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  out();

  if (memory.length > 0) {
    out(`## Memory: ${memory[0]!.sessions.toLocaleString('en')} sessions in one process`);
    out();
    out('Each store in a fresh process (`node --expose-gc`), sessions created as a sign-in creates them (the same data as');
    out('`POST /signin`; tessera records carry a 111-character browser user agent and an IP); heap and RSS after a full GC,');
    out('minus the same before, divided by the number of sessions.');
    out();
    out('| store | sessions kept | heap B/session | RSS B/session | heap Δ MiB | RSS Δ MiB |');
    out('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const m of memory) {
      out(`| ${m.label} | ${m.kept.toLocaleString('en')} | ${fixed(m.heapPerSession, 0)} | ${fixed(m.rssPerSession, 0)} | ${fixed(m.heapDeltaMiB, 1)} | ${fixed(m.rssDeltaMiB, 1)} |`);
    }
    out();
  }

  const notes = join(BENCH_DIR, 'NOTES.md');
  if (existsSync(notes)) {
    out(readFileSync(notes, 'utf8').trimEnd());
    out();
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const started = performance.now();
  const pinning = pinCores();
  if (!settings.tsx) {
    const built = await buildBench();
    scripts = { ...built, nodeArgs: [], how: 'built with tsup, the package\'s build tool, into plain ESM JavaScript (bench/build.ts)' };
  }
  if (settings.profile) mkdirSync(join(BENCH_DIR, 'profiles'), { recursive: true });
  const availability = await checkAvailability(settings);
  for (const line of availability.skipped) console.log(line);
  console.log(
    `${settings.quick ? 'quick run' : 'full run'}: ${availability.entries.length} contenders × ${settings.scenarios.length} scenarios × ${settings.rounds} rounds` +
      `${pinning ? `, servers on core ${pinning.server}, load on core ${pinning.load}` : ', no pinning'}`,
  );
  const runId = randomBytes(3).toString('hex');
  const created: { store: StoreKind; namespace: string; file?: string }[] = [];
  const samples: Samples = new Map();
  const stopping = (): void => {
    void cleanUp(created).finally(() => process.exit(130));
  };
  process.once('SIGINT', stopping);
  process.once('SIGTERM', stopping);
  try {
    for (const scenario of settings.scenarios) {
      samples.set(scenario.id, await runScenario(scenario, availability.entries, settings, pinning, runId, created));
    }
  } finally {
    await cleanUp(created);
  }
  const memory: MemoryResult[] = [];
  if (settings.memory) {
    for (const variant of ['express-session', 'tessera']) {
      const result = measureMemory(variant, settings.memorySessions, pinning);
      console.log(`${elapsed()} memory    ${result.label.padEnd(50)} ${result.heapPerSession.toFixed(0)} B heap/session`);
      memory.push(result);
    }
    const bounded = measureMemory('tessera-default', settings.memorySessions, pinning);
    console.log(`${elapsed()} memory    ${bounded.label.padEnd(50)} ${bounded.kept} kept`);
    memory.push(bounded);
  }
  const report = writeReport(settings, availability, samples, memory, pinning, (performance.now() - started) / 1000);
  writeFileSync(settings.out, report + '\n');
  console.log(`\nwrote ${settings.out}`);
}

await main();
