import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { csrfToken, originVerdict, verifyCsrfToken } from '../../src/core/csrf.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';

const SECRET = 'csrf-test-secret-0123456789-abcdefghijklmnop';
const OWN = 'http://app.test';

describe('originVerdict', () => {
  const post = (headers: { secFetchSite?: string; origin?: string }) =>
    originVerdict({ method: 'POST', secFetchSite: headers.secFetchSite, origin: headers.origin, ownOrigin: OWN });

  it('never checks safe methods', () => {
    expect(originVerdict({ method: 'GET', secFetchSite: 'cross-site', origin: 'https://evil.test', ownOrigin: OWN })).toBe('allow');
  });

  it('allows same-origin and user-initiated requests and refuses cross-site and same-site ones', () => {
    expect(post({ secFetchSite: 'same-origin' })).toBe('allow');
    expect(post({ secFetchSite: 'none' })).toBe('allow');
    expect(post({ secFetchSite: 'cross-site' })).toBe('reject');
    expect(post({ secFetchSite: 'same-site' })).toBe('reject');
  });

  it('falls back to Origin, refusing another origin and the opaque null origin', () => {
    expect(post({ origin: OWN })).toBe('allow');
    expect(post({ origin: 'https://evil.test' })).toBe('reject');
    expect(post({ origin: 'null' })).toBe('reject');
    expect(post({})).toBe('unknown');
  });

  it('lets trusted origins and, when asked, sibling sites through', () => {
    const facts = { method: 'POST', secFetchSite: 'cross-site', origin: 'https://partner.test', ownOrigin: OWN };
    expect(originVerdict(facts, { trustedOrigins: ['https://partner.test'] })).toBe('allow');
    expect(originVerdict({ ...facts, secFetchSite: 'same-site' }, { allowSameSite: true })).toBe('allow');
  });
});

describe('synchronizer token', () => {
  const key = Buffer.alloc(32, 7);

  it('verifies the token of the same session only', () => {
    const token = csrfToken(key, 'session-a');
    expect(verifyCsrfToken(key, 'session-a', token)).toBe(true);
    expect(verifyCsrfToken(key, 'session-b', token)).toBe(false);
    expect(verifyCsrfToken(Buffer.alloc(32, 8), 'session-a', token)).toBe(false);
  });

  it('refuses anything that is not a well-formed token without throwing', () => {
    for (const value of [undefined, null, 42, '', 'x'.repeat(43), ['a'], { toString: () => 'x' }]) {
      expect(verifyCsrfToken(key, 'session-a', value)).toBe(false);
    }
  });
});

function csrfApp() {
  const app = express();
  const sessions = session({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }), cookie: { secure: false } });
  app.use(express.urlencoded({ extended: false }));
  app.use(sessions);
  app.use(sessions.csrf());
  app.get('/form', (req: Request, res: Response) => {
    res.send((req as Request & { csrfToken: () => string }).csrfToken());
  });
  app.post('/transfer', (_req: Request, res: Response) => {
    res.send('done');
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isTesseraError(error) ? error.status : 500).send(isTesseraError(error) ? error.code : 'error');
  });
  return app;
}

describe('csrf middleware over HTTP', () => {
  it('rejects a cross-site POST with 403 CROSS_SITE and lets a same-origin one through', async () => {
    const app = csrfApp();
    await request(app).post('/transfer').set('Sec-Fetch-Site', 'cross-site').expect(403, 'CROSS_SITE');
    await request(app).post('/transfer').set('Origin', 'https://evil.test').expect(403, 'CROSS_SITE');
    await request(app).post('/transfer').set('Sec-Fetch-Site', 'same-origin').expect(200, 'done');
  });

  it('requires the session-bound token when the browser sends no origin information', async () => {
    const app = csrfApp();
    const form = await request(app).get('/form').expect(200);
    const cookie = form.headers['set-cookie']![0]!.split(';')[0]!;
    const token = form.text;

    await request(app).post('/transfer').set('Cookie', cookie).expect(403, 'CROSS_SITE');
    await request(app).post('/transfer').set('Cookie', cookie).type('form').send({ _csrf: 'x'.repeat(43) }).expect(403);
    await request(app).post('/transfer').set('Cookie', cookie).type('form').send({ _csrf: token }).expect(200, 'done');
    await request(app).post('/transfer').set('Cookie', cookie).set('X-CSRF-Token', token).expect(200, 'done');
  });

  it("refuses another session's token", async () => {
    const app = csrfApp();
    const mine = await request(app).get('/form');
    const theirs = await request(app).get('/form');
    const cookie = mine.headers['set-cookie']![0]!.split(';')[0]!;
    await request(app).post('/transfer').set('Cookie', cookie).set('X-CSRF-Token', theirs.text).expect(403);
  });
});
