/**
 * Anomaly detection: has the client's user agent or network changed since the session began?
 * User agents are compared by browser family, operating system and device kind, never by
 * version, so a browser update is not an anomaly (`./user-agent.js`). IPs are compared by prefix (a /24 for IPv4, a /64 for IPv6 by default) because mobile and NAT
 * users move between addresses of one network all the time.
 * @module
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { SessionMeta } from '../store/types.js';
import type { ResolvedAnomalyOptions } from './options.js';
import { sameClient } from './user-agent.js';

/** What changed. */
export type AnomalyKind = 'user_agent' | 'ip';

/**
 * The changes between the metadata recorded with a session and the current request's. Values
 * missing on either side are not a change (a client that never sent a user agent, say).
 */
export function detectAnomalies(recorded: SessionMeta, current: SessionMeta, options: ResolvedAnomalyOptions): AnomalyKind[] {
  const found: AnomalyKind[] = [];
  if (options.userAgent && differs(recorded.userAgent, current.userAgent) && !sameClient(recorded.userAgent!, current.userAgent!)) {
    found.push('user_agent');
  }
  if (options.ipPrefix !== false && differs(recorded.ip, current.ip)) {
    if (!sameNetwork(recorded.ip!, current.ip!, options.ipPrefix)) found.push('ip');
  }
  return found;
}

function differs(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a !== b;
}

/** Whether two addresses share the configured prefix. Unparseable addresses count as different. */
export function sameNetwork(a: string, b: string, prefix: { v4: number; v6: number }): boolean {
  const left = normalise(a);
  const right = normalise(b);
  if (left === undefined || right === undefined || left.family !== right.family) return false;
  const bits = left.family === 'ipv4' ? prefix.v4 : prefix.v6;
  const network = new BlockList();
  network.addSubnet(left.address, bits, left.family);
  return network.check(right.address, right.family);
}

/** `::ffff:1.2.3.4` (IPv4 seen through an IPv6 socket) is the IPv4 address it carries. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const plain = mapped ? mapped[1]! : address;
  if (isIPv4(plain)) return { address: plain, family: 'ipv4' };
  if (isIPv6(plain)) return { address: plain, family: 'ipv6' };
  return undefined;
}
