/**
 * A cookie-less client cannot make tessera write: 20,000 GETs of a form page that renders
 * `req.csrfToken()` (the sign-in page of most apps) write nothing to the store, on every store,
 * and every signed-in user stays signed in. The form still submits: the visitor's token is a
 * stateless double-submit token, checked against its own cookie. Real HTTP (keep-alive), real
 * servers on loopback.
 */
import { Agent, request as httpRequest } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import session, { type SessionMiddleware } from '../../src/adapters/express/index.js';
import { listen } from '../helpers/express-app.js';
import { storeKinds, type OpenStore } from '../helpers/every-store.js';
import { RecordingStore } from '../helpers/recording-store.js';

const SECRET = 'anonymous-flood-secret-0123456789-abcdefghijk';
const VISITS = 20_000;
const SIGNED_IN = 20;
const CONCURRENCY = 16;
const TIMEOUT = 240_000;

const { kinds, skipped } = await storeKinds();

interface Reply {
  status: number;
  body: string;
  setCookie: string[];
}

function send(agent: Agent, url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `name=value` of the cookies a reply set, joined for a `Cookie` header. */
const cookieHeader = (reply: Reply): string => reply.setCookie.map((line) => line.split(';')[0]).join('; ');
const tokenIn = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)![1]!;

describe.each(kinds)('$name: cookie-less visitors of a form page', (kind) => {
  let opened: OpenStore;
  let store: RecordingStore;
  let middleware: SessionMiddleware;
  let http: Awaited<ReturnType<typeof listen>>;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  beforeAll(async () => {
    opened = await kind.open(Date.now);
    store = new RecordingStore(opened.store);
    middleware = session({ secret: SECRET, store, name: 'sid', cookie: { secure: false } });
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(middleware);
    app.use(middleware.csrf());
    app.get('/login', (req, res) => {
      res.type('html').send(`<form method="post" action="/login"><input type="hidden" name="_csrf" value="${req.csrfToken()}"></form>`);
    });
    app.post('/login', async (req, res) => {
      await req.tessera.signIn(String((req.body as { user?: string }).user));
      res.send('signed in');
    });
    app.get('/me', (req, res) => void res.send(req.tessera.userId ?? 'nobody'));
    app.use((error: { status?: number; code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(error.status ?? 500).send(error.code ?? 'error');
    });
    http = await listen(app);
  }, 60_000);

  afterAll(async () => {
    agent.destroy();
    await http?.close();
    await middleware?.engine.close();
    await opened?.close();
  });

  /** Sign in as an old browser would: the form's token and its cookie, no Origin, no Sec-Fetch-Site. */
  async function signIn(user: string): Promise<string> {
    const page = await send(agent, http.url, 'GET', '/login');
    const visitorCookie = cookieHeader(page);
    expect(visitorCookie).toMatch(/^tessera-csrf=/);
    const reply = await send(
      agent,
      http.url,
      'POST',
      '/login',
      { 'content-type': 'application/x-www-form-urlencoded', cookie: visitorCookie },
      `user=${user}&_csrf=${tokenIn(page.body)}`,
    );
    expect(reply.status, reply.body).toBe(200);
    return cookieHeader(reply).split('; ').filter((c) => c.startsWith('sid='))[0]!;
  }

  it(
    `writes nothing for ${VISITS} cookie-less GETs of the form, and keeps ${SIGNED_IN} signed-in users signed in`,
    async () => {
      const users = await Promise.all(Array.from({ length: SIGNED_IN }, (_, i) => signIn(`user${i}`)));
      store.calls.length = 0;

      let next = 0;
      let failures = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < VISITS) {
            next++;
            const reply = await send(agent, http.url, 'GET', '/login');
            if (reply.status !== 200 || reply.setCookie.some((c) => c.startsWith('sid='))) failures++;
          }
        }),
      );
      expect(failures).toBe(0);
      // Not a single store call of any kind: no write, and not even a read (no session cookie).
      expect(store.calls).toEqual([]);

      for (const [i, cookie] of users.entries()) {
        expect((await send(agent, http.url, 'GET', '/me', { cookie })).body, `user${i}`).toBe(`user${i}`);
      }
    },
    TIMEOUT,
  );

  it('refuses the form without the token, with another visitor’s token, or with the token but not its cookie', async () => {
    const mine = await send(agent, http.url, 'GET', '/login');
    const theirs = await send(agent, http.url, 'GET', '/login');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = (headers: Record<string, string>, body: string) => send(agent, http.url, 'POST', '/login', { ...form, ...headers }, body);
    expect((await post({ cookie: cookieHeader(mine) }, 'user=x')).body).toBe('CROSS_SITE');
    expect((await post({ cookie: cookieHeader(mine) }, `user=x&_csrf=${tokenIn(theirs.body)}`)).body).toBe('CROSS_SITE');
    expect((await post({}, `user=x&_csrf=${tokenIn(mine.body)}`)).body).toBe('CROSS_SITE');
    // A visitor token is no good once the request has a session: the session's token is.
    const signedIn = await signIn('carol');
    expect((await post({ cookie: `${signedIn}; ${cookieHeader(mine)}` }, `user=x&_csrf=${tokenIn(mine.body)}`)).body).toBe('CROSS_SITE');
  });
});

describe.skipIf(skipped.length === 0)('store kinds without a server here', () => {
  it.each(skipped)('$name [skipped: $reason]', () => undefined);
});
