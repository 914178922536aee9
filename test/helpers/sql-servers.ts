/**
 * Where the SQL store tests find their servers, and what they do without one.
 *
 * - PostgreSQL: `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
 * - MySQL or MariaDB: `MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`.
 *
 * An unreachable server skips the suites that need it, with the reason in the skipped test's
 * name; under `CI=true` it throws instead, so a missing server fails the run.
 *
 * Also here: the migration statements of docs/sql-migration.md, 20 parallel writers over HTTP,
 * a connection-counting TCP proxy, and a private PostgreSQL server for outage tests.
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describeError, redactUrl } from './servers.js';
import request from 'supertest';
import { expect } from 'vitest';
import type { SessionRecord, Store } from '../../src/store/types.js';
import { cookieHeader, theSetCookie } from './cookies.js';
import { DEFAULT_NAME, barrier, buildApp, listen, type WhoAmI } from './express-app.js';

/** A server the tests can use, or why not. */
export type ServerProbe = { url: string; skip?: undefined } | { url: string; skip: string };

const execFileAsync = promisify(execFile);

/** How long a probe waits for a server, in ms. */
const PROBE_TIMEOUT_MS = 3_000;

/** The PostgreSQL server URL of the tests. */
export const postgresUrl = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
/** The MySQL or MariaDB server URL of the tests. */
export const mysqlUrl = process.env['MYSQL_URL'] || 'mysql://root@127.0.0.1:3306/test';

/** Check that PostgreSQL answers `SELECT 1`. */
export function probePostgres(): Promise<ServerProbe> {
  return probe('DATABASE_URL', postgresUrl, async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/** Check that MySQL or MariaDB answers `SELECT 1`. */
export function probeMysql(): Promise<ServerProbe> {
  return probe('MYSQL_URL', mysqlUrl, async () => {
    const connection = await mysql.createConnection({ uri: mysqlUrl, connectTimeout: PROBE_TIMEOUT_MS });
    try {
      await connection.query('SELECT 1');
    } finally {
      await connection.end().catch(() => undefined);
    }
  });
}

async function probe(variable: string, url: string, check: () => Promise<void>): Promise<ServerProbe> {
  try {
    await check();
    return { url };
  } catch (error) {
    const reason = `no server at ${variable}=${redact(url)} (${describeError(error)})`;
    if (process.env['CI'] === 'true') {
      throw new Error(`${reason}; CI=true requires every store server`, { cause: error });
    }
    return { url, skip: reason };
  }
}

/** A table name no other test file run uses: `<prefix>_<8 hex digits>`. */
export function uniqueTableName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** The URL without its password, for messages. */
export const redact = redactUrl;

// ---------------------------------------------------------------- docs, load, proxy

/**
 * The statements of the first ```sql block under `## <heading>` in docs/sql-migration.md, with
 * `tessera_sessions` renamed to `tableName`, on one line each (whitespace collapsed).
 */
export function migrationStatements(heading: string, tableName: string): string[] {
  const doc = readFileSync(new URL('../../docs/sql-migration.md', import.meta.url), 'utf8');
  const section = doc.split(`\n## ${heading}\n`)[1];
  const block = section?.split('```sql\n')[1]?.split('```')[0];
  if (block === undefined) throw new Error(`docs/sql-migration.md: no sql block under "## ${heading}"`);
  return block
    .split(';')
    .map((statement) =>
      statement.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim().replaceAll('tessera_sessions', tableName),
    )
    .filter((statement) => statement !== '');
}

/**
 * Through real HTTP on one Express app over `store`: create a session, then send `parallel`
 * requests that all load it before any of them writes (a barrier), each setting its own key.
 * @returns the session data read afterwards (every key must be there: no lost update).
 */
/** The data {@link parallelWriters} must leave: `init` plus every writer's key. */
export function everyWritersKey(parallel: number): Record<string, string> {
  return { init: 'yes', ...Object.fromEntries(Array.from({ length: parallel }, (_, i) => [`k${i}`, `v${i}`])) };
}

export async function parallelWriters(store: Store, parallel: number): Promise<Record<string, unknown>> {
  const { app } = buildApp({ store, beforeSet: barrier(parallel) });
  const server = await listen(app);
  try {
    const created = await request(server.server).post('/set/init/yes').expect(200);
    const cookie = cookieHeader(theSetCookie(created, DEFAULT_NAME));
    await Promise.all(
      Array.from({ length: parallel }, (_, i) =>
        request(server.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
      ),
    );
    const read = await request(server.server).get('/whoami').set('Cookie', cookie).expect(200);
    return (read.body as WhoAmI).data;
  } finally {
    await server.close();
  }
}

/** A TCP proxy in front of a server that counts the connections open through it. */
export interface CountingProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  /** Connections open through the proxy right now. */
  open(): number;
  close(): Promise<void>;
}

/** Start a {@link CountingProxy} on loopback in front of the server of `url`. */
export async function countingProxy(url: string): Promise<CountingProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        other.destroy();
      });
      socket.pipe(other);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    url: proxied.toString(),
    open: () => Math.ceil(sockets.size / 2),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- a private PostgreSQL

/** A PostgreSQL server of its own for a test that stops and restarts it. */
export interface PrivatePostgres {
  /**
   * Connection URL: `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth), or with the
   * password when the server was made with one (password auth over TCP).
   */
  url: string;
  /** Start the server (again) and wait until it accepts connections. */
  start(): Promise<void>;
  /** Stop it like a crash (`pg_ctl stop -m immediate`) and wait until it is down. */
  crash(): Promise<void>;
  /**
   * Freeze the server and its backends (`SIGSTOP`), like a network partition: connections stay
   * open but nothing answers. {@link PrivatePostgres.thaw} undoes it.
   */
  freeze(): void;
  /** Let a frozen server run again (`SIGCONT`). */
  thaw(): void;
  /** Stop it if running and remove its data directory. */
  destroy(): Promise<void>;
}

/**
 * `initdb` a throw-away cluster in a temp directory and serve it on a free loopback port.
 * PostgreSQL refuses to run as root, so under root the binaries run as the `postgres` OS user
 * (`runuser`). Never touches the machine's main server.
 * @param options.password make TCP connections authenticate with this password for `postgres`
 * (SCRAM), so a wrong one is refused; without it, every connection is trusted.
 * @returns the server, or the reason it cannot run here.
 */
export async function privatePostgres(options: { password?: string } = {}): Promise<PrivatePostgres | { skip: string }> {
  const bin = postgresBinDir();
  if (bin === undefined) return { skip: 'no PostgreSQL server binaries (set PG_BIN to the directory of initdb)' };
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-outage-'));
  const argv = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] : [join(bin, command), args];
  const run = (command: string, args: string[]): Promise<unknown> => execFileAsync(...argv(command, args));
  try {
    if (asRoot) {
      const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout);
      const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout);
      chownSync(dir, uid, gid);
    }
    const auth = ['-A', 'trust'];
    if (options.password !== undefined) {
      const pwfile = join(dir, 'pwfile');
      writeFileSync(pwfile, `${options.password}\n`, { mode: 0o644 });
      auth.splice(0, 2, '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`);
    }
    await run('initdb', ['-D', join(dir, 'data'), ...auth, '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `initdb failed: ${describeError(error)}` };
  }
  const port = await freePort();
  const pgCtl = (...args: string[]) => run('pg_ctl', ['-D', join(dir, 'data'), '-w', '-t', '30', ...args]);
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  let running = false;
  let frozen: number[] = [];
  const stop = (pid: number): void => {
    process.kill(pid, 'SIGSTOP');
    frozen.push(pid);
  };
  const thaw = (): void => {
    for (const pid of frozen.reverse()) process.kill(pid, 'SIGCONT');
    frozen = [];
  };
  // If the test process ends without destroy() (a crash, a killed worker), stop the server anyway.
  const stopOnExit = (): void => {
    thaw();
    if (running) execFileSync(...argv('pg_ctl', ['-D', join(dir, 'data'), '-w', 'stop', '-m', 'immediate']), { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopOnExit);
  return {
    url: `postgres://${options.password === undefined ? 'postgres' : `postgres:${encodeURIComponent(options.password)}`}@127.0.0.1:${port}/postgres`,
    async start() {
      running = true;
      await pgCtl('start', '-l', join(dir, 'server.log'), '-o', serverOptions);
    },
    async crash() {
      await pgCtl('stop', '-m', 'immediate');
      running = false;
    },
    freeze() {
      // The postmaster first, so that it forks no backend we would miss.
      const postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      stop(postmaster);
      const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8');
      for (const pid of children.split(' ').filter((text) => text.trim() !== '')) stop(Number(pid));
    },
    thaw,
    async destroy() {
      process.removeListener('exit', stopOnExit);
      thaw();
      if (running) await pgCtl('stop', '-m', 'immediate').catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBinDir(): string | undefined {
  const candidates = process.env['PG_BIN'] ? [process.env['PG_BIN']] : [];
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join('/usr/lib/postgresql', version, 'bin')));
  } catch {
    // not a Debian-style layout
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * The reads of one turn of the event loop on a batching SQL store: five reads (one key twice,
 * one missing, one expired) must go out as ONE statement, and each caller must get its own copy
 * of the record. `sent` is the text of every statement the store sent, `marker` what the batch
 * statement contains; `record(overrides)` makes a record live at the store's clock.
 */
export async function readsOfOneTurn(
  store: Store,
  sent: string[],
  marker: string,
  record: (overrides: Partial<SessionRecord>) => SessionRecord,
  expiredAt: number,
): Promise<void> {
  await store.set('a', record({ data: { n: 'a' } }));
  await store.set('b', record({ data: { n: 'b' } }));
  await store.set('old', record({ expiresAt: expiredAt }));
  sent.length = 0;
  const [a1, b, a2, missing, old] = await Promise.all(['a', 'b', 'a', 'none', 'old'].map((key) => store.get(key)));
  expect(sent).toHaveLength(1);
  expect(sent[0]).toContain(marker);
  expect([a1?.data, b?.data, a2?.data, missing, old]).toEqual([{ n: 'a' }, { n: 'b' }, { n: 'a' }, null, null]);
  a1!.data['n'] = 'changed by one caller';
  expect(a2?.data).toEqual({ n: 'a' });
}
