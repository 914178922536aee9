/**
 * Redis servers for the store tests: where they are (env vars), whether they answer, clients
 * of both libraries, and cleanup of a test run's keys.
 *
 * - `REDIS_URL`: a standalone Redis. @default 'redis://127.0.0.1:6379'
 * - `REDIS_CLUSTER_NODES`: comma-separated `host:port` of the cluster masters
 *   (`scripts/redis-cluster.sh start`). @default '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002'
 *
 * A server that does not answer skips its tests with the reason, except under `CI=true`, where
 * it fails the run: CI starts every server, so a missing one is a broken pipeline, not a pass.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { describeIfAvailable } from './unavailable.js';

/** A `host:port` pair. */
export interface Address {
  host: string;
  port: number;
}

/** The standalone server's URL. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** The cluster's master nodes. */
export const REDIS_CLUSTER_NODES: Address[] = (
  process.env['REDIS_CLUSTER_NODES'] ?? '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002'
)
  .split(',')
  .map((entry) => entry.trim())
  .filter((entry) => entry !== '')
  .map(parseAddress);

function parseAddress(entry: string): Address {
  const at = entry.lastIndexOf(':');
  const port = Number(entry.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) throw new Error(`REDIS_CLUSTER_NODES: bad address ${entry}`);
  return { host: entry.slice(0, at).replace(/^\[|\]$/g, ''), port };
}

/** The standalone server's address, from {@link REDIS_URL}. */
export function standaloneAddress(): Address {
  const url = new URL(REDIS_URL);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) };
}

/**
 * Send one inline command over a bare socket and return the raw reply, or `null` if nothing
 * answered within `timeoutMs`. A probe must not use the client libraries: they retry forever.
 */
export function probe(address: Address, command: string, timeoutMs = 1_000): Promise<string | null> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = connect(address.port, address.host);
    const done = (value: string | null) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => done(reply === '' ? null : reply), timeoutMs);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // A simple-string, error or complete bulk reply is all these probes need.
      if (/^[+-].*\r\n/.test(reply) || /^\$\d+\r\n[\s\S]*\r\n$/.test(reply)) done(reply);
    });
    socket.once('error', () => done(null));
  });
}

/** Why the standalone server cannot be used, or `undefined` if it answers `PING`. */
export async function standaloneProblem(): Promise<string | undefined> {
  const address = standaloneAddress();
  const reply = await probe(address, 'PING');
  return reply?.startsWith('+PONG') ? undefined : `no Redis answers PING at ${address.host}:${address.port} (REDIS_URL)`;
}

/** Why the cluster cannot be used, or `undefined` if every node says `cluster_state:ok`. */
export async function clusterProblem(): Promise<string | undefined> {
  for (const node of REDIS_CLUSTER_NODES) {
    const reply = await probe(node, 'CLUSTER INFO');
    if (!reply?.includes('cluster_state:ok')) {
      return `no Redis Cluster node with cluster_state:ok at ${node.host}:${node.port} (REDIS_CLUSTER_NODES; run scripts/redis-cluster.sh start)`;
    }
  }
  return REDIS_CLUSTER_NODES.length === 0 ? 'REDIS_CLUSTER_NODES is empty' : undefined;
}

/** Gate a block of tests on a server (see `unavailable.ts`: a failure under `CI=true`, a named skip elsewhere). */
export const describeWithServer = describeIfAvailable;

/** A fresh key prefix for one test run, so runs and files never see each other's keys. */
export function uniquePrefix(label: string): string {
  return `tessera-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Which client library a test uses. */
export type Library = 'node-redis' | 'ioredis';

/** A connected client of either library, and how to close it. */
export interface TestClient {
  library: Library;
  client: ReturnType<typeof createClient> | ReturnType<typeof createCluster> | Redis | Cluster;
  /** Errors the client emitted (it must have a listener, or node-redis throws them). */
  errors: unknown[];
  /** Run a raw command on the node that owns `key` (or any node). */
  command(args: string[], key?: string): Promise<unknown>;
  close(): Promise<void>;
}

/** Connect a client of `library` to the standalone server at `url`. */
export async function connectStandalone(library: Library, url: string = REDIS_URL): Promise<TestClient> {
  const errors: unknown[] = [];
  if (library === 'node-redis') {
    const client = createClient({ url });
    client.on('error', (error: unknown) => errors.push(error));
    await client.connect();
    return {
      library,
      client,
      errors,
      command: (args) => client.sendCommand(args),
      close: async () => {
        // close() waits for the server; an unreachable one (an outage test) gets destroy().
        if (client.isReady) await client.close();
        else if (client.isOpen) client.destroy();
      },
    };
  }
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', (error: unknown) => errors.push(error));
  await client.connect();
  return {
    library,
    client,
    errors,
    command: ([name = '', ...rest]) => client.call(name, ...rest),
    close: async () => {
      if (client.status !== 'end') await client.quit();
    },
  };
}

/** Connect a cluster client of `library` to {@link REDIS_CLUSTER_NODES}. */
export async function connectCluster(library: Library): Promise<TestClient> {
  const errors: unknown[] = [];
  if (library === 'node-redis') {
    const rootNodes = REDIS_CLUSTER_NODES.map(({ host, port }) => ({ socket: { host, port } }));
    const client = createCluster({ rootNodes });
    client.on('error', (error: unknown) => errors.push(error));
    await client.connect();
    return {
      library,
      client,
      errors,
      command: (args, key) => client.sendCommand(key, false, args),
      close: async () => {
        await client.close();
      },
    };
  }
  const client = new Cluster(REDIS_CLUSTER_NODES, { lazyConnect: true });
  client.on('error', (error: unknown) => errors.push(error));
  await client.connect();
  return {
    library,
    client,
    errors,
    command: ([name = '', ...rest]) => client.call(name, ...rest),
    close: async () => {
      if (client.status !== 'end') await client.quit();
    },
  };
}

/** Delete every key under `prefix` on each of `nodes` (test cleanup; SCAN is fine here). */
export async function deleteKeys(nodes: Address[], prefix: string): Promise<number> {
  let deleted = 0;
  for (const { host, port } of nodes) {
    const client = createClient({ socket: { host, port, reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        for (const key of keys) deleted += await client.del(key);
      }
    } finally {
      await client.close();
    }
  }
  return deleted;
}

/** Every key under `prefix` on each of `nodes`, sorted. */
export async function listKeys(nodes: Address[], prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const { host, port } of nodes) {
    const client = createClient({ socket: { host, port, reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) found.push(...keys);
    } finally {
      await client.close();
    }
  }
  return found.sort();
}
