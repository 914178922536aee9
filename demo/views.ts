/**
 * The demo's pages: small functions that return escaped HTML. No inline scripts and no inline
 * styles (the Content-Security-Policy allows neither): the one script, `public/session.js`,
 * reads its settings from the `<body>`'s `data-` attributes.
 * @module
 */
import type { SessionInfo } from '../src/index.js';
import type { ClientTimings } from './client.js';
import { MIN_PASSWORD_LENGTH, type User } from './users.js';
import { html, type Html } from './html.js';

/** What the session page shows about the current session (all times in ms since epoch). */
export interface SessionView {
  user: User;
  createdAt: number;
  lastSeenAt: number;
  authenticatedAt: number | null;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  sessions: SessionInfo[];
  now: number;
  /** The session's CSRF token, for the forms. */
  csrf: string;
  /** Why the last password change failed, shown above its form. */
  passwordError?: string | undefined;
  /** Settings of the page's script (tessera/browser). */
  client: ClientTimings;
}

/** Which script behaviour a page gets: a signed-in page is watched, a sign-in page expires. */
type ClientPage = { page: 'session' | 'signin'; timings: ClientTimings };

function layout(title: string, body: Html, client?: ClientPage): Html {
  const timings = client?.timings;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · tessera demo</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
${client !== undefined && html`<script type="module" src="/session.js"></script>`}
</head>
${
  timings === undefined
    ? html`<body>`
    : html`<body data-page="${client!.page}" data-warn-before="${timings.warnBefore}" data-poll="${timings.poll}" data-activity="${timings.activity}" data-signin-timeout="${timings.signInTimeout}">`
}
<header class="masthead"><a href="/" class="brand">tessera</a> <span class="tag">session demo</span></header>
<main>
${body}
</main>
<footer>Server-side sessions in SQLite. The cookie holds only a signed random token. · <a href="/api.html">API client demo</a> (tokens, no cookie)</footer>
</body>
</html>
`;
}

/**
 * The hidden field that carries the session's CSRF token (`req.csrfToken()`). Every POST form
 * needs it: `sessions.csrf()` asks for it when the browser sent neither `Sec-Fetch-Site` nor
 * `Origin`.
 */
function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** What the sign-in page shows. */
export interface SignInView {
  csrf: string;
  error?: string | undefined;
  username?: string | undefined;
  /** Why the last session ended ("You signed out on another device."). */
  ended?: string | undefined;
  /** The demo credentials still valid (a changed password is not shown). */
  demoUsers: ReadonlyArray<{ id: string; password: string }>;
  client: ClientTimings;
}

/** The sign-in form, with why the last session ended, the demo credentials and an optional error. */
export function signInPage(options: SignInView): Html {
  return layout(
    'Sign in',
    html`<section class="card narrow">
<h1>Sign in</h1>
${options.ended !== undefined && html`<p class="notice" role="status" id="ended">${options.ended}</p>`}
${options.error !== undefined && html`<p class="error" role="alert">${options.error}</p>`}
<p class="notice" id="signin-expired" hidden>This sign-in page has expired. <a href="/">Reload it</a> to sign in.</p>
<form method="post" action="/login" class="stack" data-tessera-signin>
${csrfField(options.csrf)}
<label>Username <input name="username" autocomplete="username" required value="${options.username ?? ''}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
</section>
${
  options.demoUsers.length > 0 &&
  html`<section class="card narrow hint">
<h2>Demo accounts</h2>
<table>
<thead><tr><th>Username</th><th>Password</th></tr></thead>
<tbody>
${options.demoUsers.map((user) => html`<tr><td><code>${user.id}</code></td><td><code>${user.password}</code></td></tr>`)}
</tbody>
</table>
<p>Sign in from two browsers (or a private window) to see both sessions listed. A password you change is no longer shown.</p>
</section>`
}`,
    { page: 'signin', timings: options.client },
  );
}

/** The signed-in page: this session's clocks, the user's sessions, and the password form. */
export function sessionPage(view: SessionView): Html {
  const { now, csrf } = view;
  const sessions = [...view.sessions].sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt - a.lastSeenAt);
  return layout(
    'Your session',
    html`<section class="card">
<div class="title-row">
<h1>Hello, ${view.user.name}</h1>
<span class="muted">signed in as <code>${view.user.id}</code></span>
</div>
<dl class="facts">
<dt>Created</dt><dd>${moment(view.createdAt, now)}</dd>
<dt>Last seen</dt><dd>${moment(view.lastSeenAt, now)}</dd>
<dt>Authenticated at</dt><dd>${view.authenticatedAt === null ? 'never' : moment(view.authenticatedAt, now)}</dd>
<dt>Idle deadline</dt><dd>${moment(view.idleExpiresAt, now)} <span class="note">ends unless used before then; each visit moves it</span></dd>
<dt>Absolute deadline</dt><dd>${moment(view.absoluteExpiresAt, now)} <span class="note">ends then however active</span></dd>
</dl>
<div class="actions">
<form method="post" action="/logout" data-tessera-signout>${csrfField(csrf)}<button type="submit">Sign out</button></form>
<form method="post" action="/logout-everywhere">${csrfField(csrf)}<button type="submit" class="danger">Sign out everywhere</button></form>
</div>
</section>
<section class="card">
<h2>Your sessions <span class="count">${sessions.length}</span></h2>
<table class="sessions">
<thead><tr><th>Device</th><th>IP address</th><th>Created</th><th>Last seen</th><th><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
${sessions.map((session) => sessionRow(session, now, csrf))}
</tbody>
</table>
</section>
<section class="card" id="password">
<h2>Change password</h2>
<p class="muted">Your other devices will be signed out.</p>
${view.passwordError !== undefined && html`<p class="error" role="alert">${view.passwordError}</p>`}
<form method="post" action="/password" class="stack narrow-form">
${csrfField(csrf)}
${usernameField(view.user)}
<label>Current password <input name="current" type="password" autocomplete="current-password" required></label>
<label>New password <span class="note">at least ${MIN_PASSWORD_LENGTH} characters</span>
<input name="password" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required></label>
<label>Confirm new password <input name="confirm" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required></label>
<div><button type="submit">Change password</button></div>
</form>
</section>`,
    { page: 'session', timings: view.client },
  );
}

/**
 * The account's username in a password form, hidden: password managers need it to know whose
 * password changes, and browsers warn about password forms without one.
 */
function usernameField(user: User): Html {
  return html`<input type="text" name="username" autocomplete="username" value="${user.id}" hidden readonly>`;
}

function sessionRow(session: SessionInfo, now: number, csrf: string): Html {
  return html`<tr${session.current ? html` class="current"` : ''}>
<td title="${session.userAgent ?? ''}">${describeDevice(session.userAgent)}${session.current && html` <span class="badge">this device</span>`}</td>
<td data-label="IP"><code>${displayIp(session.ip)}</code></td>
<td data-label="Created">${moment(session.createdAt, now, SHORT_DATE_TIME)}</td>
<td data-label="Last seen">${moment(session.lastSeenAt, now, SHORT_DATE_TIME)}</td>
<td class="action">${
    session.current
      ? ''
      : html`<form method="post" action="/sessions/${encodeURIComponent(session.id)}/revoke">${csrfField(csrf)}<button type="submit" class="small">Revoke</button></form>`
  }</td>
</tr>`;
}

/**
 * Step-up: the password form needs a recent sign-in, so ask for the password again. Signing in
 * again refreshes the sign-in time (and replaces the session token).
 */
export function reauthPage(options: { user: User; csrf: string; error?: string | undefined; client: ClientTimings }): Html {
  return layout(
    'Confirm it is you',
    html`<section class="card narrow">
<h1>Confirm it is you</h1>
<p>Changing your password needs a recent sign-in. Enter your password again, then change it.</p>
${options.error !== undefined && html`<p class="error" role="alert">${options.error}</p>`}
<form method="post" action="/reauth" class="stack">
${csrfField(options.csrf)}
${usernameField(options.user)}
<label>Password for <code>${options.user.id}</code> <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Continue</button>
</form>
<p><a href="/">Cancel</a></p>
</section>`,
    { page: 'session', timings: options.client },
  );
}

/** After a password change: how many other sessions were signed out. */
export function passwordChangedPage(ended: number, client: ClientTimings): Html {
  const others = ended === 0 ? 'No other device was signed in.' : `${ended} other ${ended === 1 ? 'session was' : 'sessions were'} signed out.`;
  return layout(
    'Password changed',
    html`<section class="card narrow">
<h1>Password changed</h1>
<p>Your new password works from now on. ${others} This device stays signed in.</p>
<p><a href="/">Back to your session</a></p>
</section>`,
    { page: 'session', timings: client },
  );
}

/** An error page (401 comes with the form instead; see {@link signInPage}). */
export function errorPage(title: string, message: string): Html {
  return layout(
    title,
    html`<section class="card narrow">
<h1>${title}</h1>
<p>${message}</p>
<p><a href="/">Back to the start page</a></p>
</section>`,
  );
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'long' });
const SHORT_DATE_TIME = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const RELATIVE = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];

/** A time as "21 Nov 2025, 14:05:09 UTC (in 30 minutes)", machine-readable in `datetime`. */
function moment(ms: number, now: number, format = DATE_TIME): Html {
  const date = new Date(ms);
  return html`<time datetime="${date.toISOString()}">${format.format(date)}</time> <span class="relative">(${relative(ms - now)})</span>`;
}

function relative(deltaMs: number): string {
  if (Math.abs(deltaMs) < 10_000) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(deltaMs) >= size) return RELATIVE.format(Math.round(deltaMs / size), unit);
  }
  return 'just now';
}

const BROWSERS: Array<[RegExp, string]> = [
  [/Edg\/(\d+)/, 'Edge'],
  [/OPR\/(\d+)/, 'Opera'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/Chrome\/(\d+)/, 'Chrome'],
  [/Version\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/^curl\/(\d+(?:\.\d+)*)/, 'curl'],
];
const SYSTEMS: Array<[RegExp, string]> = [
  [/iPhone|iPad/, 'iOS'],
  [/Android/, 'Android'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

/** A user agent shortened to "Firefox 128 on Linux"; the full string is in the row's tooltip. */
export function describeDevice(userAgent: string | undefined): string {
  if (userAgent === undefined || userAgent.trim() === '') return 'Unknown device';
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent));
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser === undefined) return userAgent.length > 40 ? `${userAgent.slice(0, 39)}…` : userAgent;
  const version = browser[0].exec(userAgent)?.[1];
  const name = version === undefined ? browser[1] : `${browser[1]} ${version}`;
  return system === undefined ? name : `${name} on ${system}`;
}

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) shown as `127.0.0.1`. */
function displayIp(ip: string | undefined): string {
  if (ip === undefined) return 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}
