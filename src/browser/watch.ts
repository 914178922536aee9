/**
 * `watchSession`: the browser's side of the session status endpoint. It warns before the idle
 * deadline (corrected for the difference between this browser's clock and the server's), lets
 * the user stay signed in, extends the session on activity at most once per interval, and shares
 * all of it with the other tabs of the origin (`BroadcastChannel`, or `storage` events where that
 * is missing), so activity in one tab keeps every tab alive and an end in one ends them all.
 * @module
 */
import { page, type KitChannel } from './dom.js';

// The status answer's shape is the server's own (src/core/status.ts), imported as a type only:
// nothing of the core reaches the browser bundle.
import type { EndReason } from '../core/ended.js';
import type { SessionStatus } from '../core/status.js';

export type { EndReason, SessionStatus };

/** Options of {@link watchSession}. Durations are milliseconds. */
export interface WatchOptions {
  /** The status route (`sessions.status()`): read-only, never counts as activity. @default '/session/status' */
  statusUrl?: string;
  /** The keep-alive route (`sessions.keepAlive()`), sent with POST. @default '/session/keep-alive' */
  keepAliveUrl?: string;
  /** Warn this long before the idle deadline. @default 60_000 (60 s) */
  warnBefore?: number;
  /** Ask the server this often, to learn of a session ended elsewhere. @default 60_000 (60 s) */
  pollInterval?: number;
  /** User activity (pointer, keys, the tab becoming visible) extends the session at most once per this, across tabs. @default 60_000 (60 s) */
  activityInterval?: number;
  /** The name of the channel the tabs share. @default 'tessera-session' */
  channel?: string;
  /**
   * Whether the page was rendered for a signed-in user: then a first answer saying otherwise
   * ends it (a session ended while the page loaded), and for `false` a first answer saying
   * signed in calls `onSignedIn`. @default learn it from the first answer
   */
  signedIn?: boolean;
  /** More headers for the keep-alive request (a CSRF token, if your app wants one). */
  headers?: Record<string, string>;
  /** Every second of the countdown: `remaining` ms until the idle deadline. */
  onWarn?(remaining: number, watcher: SessionWatcher): void;
  /** The countdown is over: the session was extended (here or in another tab). */
  onActive?(status: SessionStatus): void;
  /** The session ran out (`idle` or `absolute`). */
  onExpire?(reason: EndReason): void;
  /** The session ended otherwise: signed out (maybe in another tab), revoked, replay; `null` when the server gave no reason. */
  onSignedOut?(reason: EndReason | null): void;
  /** This page showed no signed-in session, and now one exists (signed in from another tab). */
  onSignedIn?(status: SessionStatus): void;
}

/** A running watch. */
export interface SessionWatcher {
  /** The last status seen, or `null` before the first answer. */
  readonly status: SessionStatus | null;
  /** The server's clock minus this browser's, in ms (positive: the server is ahead). */
  readonly offset: number;
  /** "Stay signed in": extend the session now. */
  staySignedIn(): Promise<void>;
  /** Ask the server for the status now. */
  check(): Promise<void>;
  /** Stop watching: timers, listeners and the channel. */
  stop(): void;
}

interface Message {
  s?: SessionStatus;
  o?: number;
  k?: boolean;
}

const ACTIVITY = ['pointerdown', 'keydown'];

/**
 * Watch this page's session.
 * @example
 * watchSession({ warnBefore: 60_000, ...sessionDialog(), onExpire: () => location.assign('/'), onSignedOut: () => location.assign('/') });
 */
export function watchSession(options: WatchOptions = {}): SessionWatcher {
  const o = { statusUrl: '/session/status', keepAliveUrl: '/session/keep-alive', warnBefore: 60e3, pollInterval: 60e3, activityInterval: 60e3, channel: 'tessera-session', ...options };
  const doc = page.document;
  let status: SessionStatus | null = null;
  let offset = 0;
  let seen = o.signedIn === true;
  let over = false;
  /** 0: no warning; 1: confirming with the server; 2: counting down. */
  let warning = 0;
  let lastExtend = -Infinity;
  let inFlight: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = setInterval(() => void check(), o.pollInterval);
  const bus = channel(o.channel, receive);

  const deadline = (): number => (status?.idleExpiresAt ?? 0) - offset;

  async function ask(url: string, keep: boolean): Promise<void> {
    const sent = Date.now();
    try {
      const res = await fetch(url, { method: keep ? 'POST' : 'GET', credentials: 'same-origin', headers: { Accept: 'application/json', ...o.headers } });
      const s = (await res.json()) as SessionStatus;
      if (typeof s.signedIn !== 'boolean' || typeof s.now !== 'number') throw 0;
      const changed = keep || s.signedIn !== status?.signedIn || s.idleExpiresAt !== status.idleExpiresAt;
      // The server answered between `sent` and now: take the midpoint as its `now`.
      const off = s.now - (sent + Date.now()) / 2;
      // Tell the other tabs first: an end closes the channel.
      if (changed) bus.post({ s, o: off, k: keep });
      adopt(s, off, keep);
    } catch {
      // Offline or an error page: try again at the next poll.
      schedule();
    }
  }

  function check(): Promise<void> {
    return over ? Promise.resolve() : ask(o.statusUrl, false);
  }

  function extend(): Promise<void> {
    lastExtend = Date.now();
    return (inFlight ??= ask(o.keepAliveUrl, true).finally(() => (inFlight = undefined)));
  }

  function adopt(s: SessionStatus, off: number, keep: boolean): void {
    if (over) return;
    const previous = status;
    status = s;
    offset = off;
    if (keep) lastExtend = Date.now();
    if (!s.signedIn) return end(s.endReason);
    if (!seen && (previous ? !previous.signedIn : o.signedIn === false)) o.onSignedIn?.(s);
    seen = true;
    if (previous?.idleExpiresAt !== s.idleExpiresAt) {
      if (warning === 2) o.onActive?.(s);
      warning = 0;
    }
    schedule();
  }

  function end(reason: EndReason | null): void {
    // A page that never showed a session has nothing to end: it keeps watching for a sign-in.
    if (!seen) return;
    over = true;
    stop();
    const why = reason ?? (deadline() <= Date.now() ? 'idle' : null);
    if (why === 'idle' || why === 'absolute') o.onExpire?.(why);
    else o.onSignedOut?.(why);
  }

  function schedule(): void {
    clearTimeout(timer);
    if (over || !status?.signedIn) return;
    const left = deadline() - Date.now();
    if (left <= 0) {
      timer = setTimeout(() => void check(), 1e3);
    } else if (left > o.warnBefore) {
      if (warning === 2) o.onActive?.(status);
      warning = 0;
      timer = setTimeout(schedule, left - o.warnBefore);
    } else if (warning === 0) {
      // Another tab, or a request of the app itself, may have moved the deadline.
      warning = 1;
      void check();
    } else {
      warning = 2;
      o.onWarn?.(left, watcher);
      timer = setTimeout(schedule, left % 1e3 || 1e3);
    }
  }

  function receive(m: Message): void {
    const s = m.s;
    if (!s || over) return;
    // A tab says the session ended: confirm with the server (its answer may be older than a sign-in here).
    if (!s.signedIn) {
      if (status?.signedIn) void check();
      return;
    }
    adopt(s, typeof m.o === 'number' ? m.o : offset, m.k === true);
  }

  function activity(): void {
    if (status?.signedIn && Date.now() - lastExtend >= o.activityInterval) void extend();
  }

  function visible(): void {
    if (doc.visibilityState !== 'visible') return;
    if (status?.signedIn && Date.now() - lastExtend >= o.activityInterval) void extend();
    else void check();
  }

  for (const type of ACTIVITY) doc.addEventListener(type, activity, { capture: true, passive: true });
  doc.addEventListener('visibilitychange', visible);

  function stop(): void {
    clearTimeout(timer);
    clearInterval(poll);
    for (const type of ACTIVITY) doc.removeEventListener(type, activity, { capture: true });
    doc.removeEventListener('visibilitychange', visible);
    bus.close();
  }

  const watcher: SessionWatcher = {
    get status() {
      return status;
    },
    get offset() {
      return offset;
    },
    staySignedIn: extend,
    check,
    stop,
  };
  void check();
  return watcher;
}

/** The tabs' channel: `BroadcastChannel`, or `storage` events on a localStorage key where it is missing. */
function channel(name: string, receive: (message: Message) => void): { post(message: Message): void; close(): void } {
  const Channel = page.BroadcastChannel;
  if (Channel) {
    const bc: KitChannel = new Channel(name);
    bc.onmessage = (event) => receive(event.data as Message);
    return { post: (message) => bc.postMessage(message), close: () => bc.close() };
  }
  const listener = (event: { key?: string | null; newValue?: string | null }): void => {
    if (event.key !== name || !event.newValue) return;
    try {
      receive(JSON.parse(event.newValue) as Message);
    } catch {
      // Not ours.
    }
  };
  page.addEventListener('storage', listener);
  return {
    post(message) {
      try {
        // A changing value, so that the same status sent twice is still an event.
        page.localStorage?.setItem(name, JSON.stringify({ ...message, n: Math.random() }));
      } catch {
        // Storage refused (private mode, quota): the other tabs learn it at their next poll.
      }
    },
    close: () => page.removeEventListener('storage', listener),
  };
}
