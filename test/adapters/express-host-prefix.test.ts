import request from 'supertest';
import { expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import session from '../../src/adapters/express/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { frozenClock } from '../helpers/clock.js';
import { theSetCookie } from '../helpers/cookies.js';
import { buildApp } from '../helpers/express-app.js';

const secret = 'a-strong-secret-of-at-least-32-bytes!!';

it('makes a __Host-sid cookie Secure by default, even outside production (sent over http://localhost, where browsers keep it)', async () => {
  const clock = frozenClock();
  const t = buildApp({
    store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }),
    now: clock.now,
    name: '__Host-sid',
  });

  const res = await request(t.app).post('/set/a/1').set('Host', 'localhost:3000').expect(200);

  const cookie = theSetCookie(res, '__Host-sid');
  expect(cookie.attributes.get('secure')).toBe(true);
  expect(cookie.attributes.get('path')).toBe('/');
  expect(cookie.attributes.has('domain')).toBe(false);
});

it("refuses a __Host- name with secure: 'auto' at construction, since browsers drop such a cookie over HTTP", () => {
  let thrown: unknown;
  try {
    session({ secret, name: '__Host-sid', cookie: { secure: 'auto' } });
  } catch (error) {
    thrown = error;
  }
  expect(isTesseraError(thrown, 'INVALID_OPTION')).toBe(true);
  expect((thrown as Error).message).toMatch(/__Host-.*secure: true/);
});
