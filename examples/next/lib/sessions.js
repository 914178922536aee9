// One engine for the whole app. Next.js may load this module once per route bundle, so the
// engine (and its memory store) lives on globalThis: every route sees the same sessions.
import { cookies, headers } from 'next/headers';
import { nextSessions } from 'tessera/next';
import { MemoryStore } from 'tessera/stores/memory';

const secret = process.env.SESSION_SECRET ?? 'example-only-secret-0123456789-abcdefghijkl';

/** @type {import('tessera/next').NextSessions} */
export const sessions = (globalThis.tesseraExample ??= nextSessions({
  secret,
  store: new MemoryStore(), // one process only: use RedisStore or PostgresStore when you run several
  // The cookie keeps tessera's defaults: `__Host-sid`, HttpOnly, Secure, SameSite=Lax. Over
  // plain HTTP browsers keep a Secure cookie only on localhost, and so does tessera.
  cookies,
  headers,
}));
