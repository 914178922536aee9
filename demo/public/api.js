// The API page's script: tessera/client against the demo's /api (demo/api.ts). No inline script,
// so the CSP stays strict; the tokens stay in this page's memory.
import { createTokenClient } from '/assets/tessera-client.js';

const output = document.getElementById('api-output');
const meButton = document.getElementById('api-me');
const signOutButton = document.getElementById('api-signout');
let refreshToken = null;

const show = (text) => {
  output.textContent = text;
};
const signedIn = (yes) => {
  meButton.disabled = !yes;
  signOutButton.disabled = !yes;
};

const api = createTokenClient({
  refreshUrl: '/api/token/refresh',
  // Keep the refresh token at hand for the sign-out call; a real app would use secure storage.
  storage: {
    tokens: null,
    get() {
      return this.tokens;
    },
    set(tokens) {
      this.tokens = tokens;
      refreshToken = tokens === null ? null : tokens.refreshToken;
    },
  },
  onSignedOut: () => {
    signedIn(false);
    show('Signed out: the sign-in ended (revoked, expired, or a refresh token was replayed).');
  },
});

document.getElementById('api-signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: form.get('username'), password: form.get('password'), device: 'API page in a browser' }),
  });
  if (!response.ok) return show(response.status === 401 ? 'Wrong username or password.' : `Sign-in failed (${response.status}).`);
  await api.signIn(await response.json());
  signedIn(true);
  show('Signed in to the API.');
});

meButton.addEventListener('click', async () => {
  const response = await api.fetch('/api/me');
  show(`${response.status} ${JSON.stringify(await response.json(), null, 2)}`);
});

signOutButton.addEventListener('click', async () => {
  const token = refreshToken;
  await api.signOut();
  if (token !== null) {
    await fetch('/api/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: token }) });
  }
  signedIn(false);
  show('Signed out of the API.');
});
