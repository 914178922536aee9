// The demo's one script: tessera/browser on every page that has a session or signs one in.
// Settings come from <body data-...> (demo/views.ts); no inline script, so the CSP stays strict.
import { clearEndReason, expireSignInPage, sessionDialog, watchSession } from '/assets/tessera-browser.js';

const data = document.body.dataset;
const ms = (name) => Number(data[name]);
const toStart = () => location.assign('/');

if (data.page === 'session') {
  // Signed in: an old end reason has nothing more to say.
  clearEndReason();
  window.tesseraWatcher = watchSession({
    signedIn: true,
    warnBefore: ms('warnBefore'),
    pollInterval: ms('poll'),
    activityInterval: ms('activity'),
    ...sessionDialog(),
    // The sign-in page says why (the server's end-reason cookie), with a fresh form and token.
    onExpire: toStart,
    onSignedOut: toStart,
  });
} else if (data.page === 'signin') {
  // Signed in from another tab: this page's form and token are stale, so show the session.
  window.tesseraWatcher = watchSession({ signedIn: false, pollInterval: ms('poll'), onSignedIn: () => location.reload() });
  expireSignInPage({
    after: ms('signinTimeout'),
    form: 'form[data-tessera-signin]',
    onExpire: () => {
      document.getElementById('signin-expired').hidden = false;
    },
  });
}
