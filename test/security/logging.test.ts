import { Writable } from 'node:stream';
import express from 'express';
import morgan from 'morgan';
import pino from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { logEvents, registerMorganTokens } from '../../src/logging.js';
import { MemoryStore } from '../../src/store/memory.js';
import { parseSignedValue, theSetCookie } from '../helpers/cookies.js';
import { SECRET } from '../helpers/express-app.js';

/** A stream that keeps every line written to it. */
function lines(): { stream: Writable; text: () => string; all: string[] } {
  const all: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      all.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, all, text: () => all.join('\n') };
}

function app() {
  const pinoOut = lines();
  const morganOut = lines();
  const logger = pino({ level: 'info' }, pinoOut.stream);
  registerMorganTokens(morgan);
  const a = express();
  a.use(session({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }), cookie: { secure: false }, onEvent: logEvents(logger) }));
  a.use(morgan(':method :url :status session=:session user=:user', { stream: morganOut.stream }));
  a.post('/signin', async (req, res) => {
    await req.tessera.signIn('alice');
    res.send('ok');
  });
  a.get('/me', (req, res) => {
    res.send(req.tessera.userId ?? 'nobody');
  });
  a.post('/signout', async (req, res) => {
    await req.tessera.signOut();
    res.send('bye');
  });
  return { app: a, pinoOut, morganOut };
}

describe('logs', () => {
  it('carry the session reference, user, IP, method, path and event, and never the token or cookie value', async () => {
    const { app: a, pinoOut, morganOut } = app();
    const signIn = await request(a).post('/signin').expect(200);
    const cookie = theSetCookie(signIn, 'connect.sid');
    const { token } = parseSignedValue(cookie.value);
    await request(a).get('/me').set('Cookie', `connect.sid=${cookie.value}`).expect(200, 'alice');
    await request(a).get('/me').set('Cookie', 'connect.sid=v1.forged').expect(200, 'nobody');
    await request(a).post('/signout').set('Cookie', `connect.sid=${cookie.value}`).expect(200);

    const events = pinoOut.all.map((line) => JSON.parse(line) as { level: number; msg: string; session: Record<string, unknown> });
    expect(events.map((e) => e.session['type'])).toEqual(['created', 'authenticated', 'invalid_token', 'destroyed']);
    const created = events[0]!.session;
    expect(created).toMatchObject({ userId: 'alice', method: 'POST', path: '/signin' });
    expect(created['sessionRef']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(typeof created['ip']).toBe('string');
    expect(events[2]).toMatchObject({ level: 40, session: { reason: 'malformed' } });

    expect(morganOut.all[1]).toMatch(new RegExp(`^GET /me 200 session=${created['sessionRef'] as string} user=alice$`));
    expect(morganOut.all[2]).toBe('GET /me 200 session=- user=-');

    for (const text of [pinoOut.text(), morganOut.text()]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(cookie.value);
    }
  });
});
