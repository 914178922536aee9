/**
 * The optional default UI of `tessera/browser`: a `<dialog>` with the countdown and two buttons,
 * "Stay signed in" and "Sign out". Spread it into {@link watchSession}'s options; replace it by
 * giving your own `onWarn` and `onActive`. It uses no inline style (a strict CSP allows it): style
 * `.tessera-dialog` in your stylesheet.
 * @module
 */
import { page, type KitDialog, type KitElement, type KitForm } from './dom.js';
import type { SessionStatus, SessionWatcher, WatchOptions } from './watch.js';

/** Options of {@link sessionDialog}. */
export interface DialogOptions {
  /** The dialog's message, for `remaining` ms left; `canExtend` is false at the absolute deadline. @default "Your session ends in m:ss." */
  text?(remaining: number, canExtend: boolean): string;
  /** The label of the button that extends the session. @default 'Stay signed in' */
  stayLabel?: string;
  /** The label of the sign-out button. @default 'Sign out' */
  signOutLabel?: string;
  /** What "Sign out" does. @default submits the page's `form[data-tessera-signout]` */
  onSignOut?(): void;
}

/** "1:05" for 65 s. */
export function formatRemaining(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1e3));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The default warning dialog: `watchSession({ ...sessionDialog(), onExpire, onSignedOut })`.
 * @returns `onWarn` and `onActive` for {@link watchSession}.
 */
export function sessionDialog(options: DialogOptions = {}): Required<Pick<WatchOptions, 'onWarn' | 'onActive'>> {
  const doc = page.document;
  let dialog: KitDialog | undefined;
  let message: KitElement;
  let stay: KitElement;
  let watching: SessionWatcher | undefined;
  const text = options.text ?? ((ms, canExtend) => `Your session ends in ${formatRemaining(ms)}.${canExtend ? '' : ' Sign in again to go on.'}`);

  function button(label: string, action: () => void): KitElement {
    const b = doc.createElement('button');
    b.setAttribute('type', 'button');
    b.textContent = label;
    b.onclick = action;
    return b;
  }

  function build(): KitDialog {
    const d = doc.createElement('dialog') as KitDialog;
    d.className = 'tessera-dialog';
    d.setAttribute('role', 'alertdialog');
    d.setAttribute('aria-label', 'Session ending');
    message = doc.createElement('p');
    stay = button(options.stayLabel ?? 'Stay signed in', () => void watching?.staySignedIn());
    const out = button(options.signOutLabel ?? 'Sign out', options.onSignOut ?? (() => (doc.querySelector('form[data-tessera-signout]') as KitForm | null)?.requestSubmit()));
    d.append(message, stay, out);
    doc.body.append(d);
    return d;
  }

  return {
    onWarn(remaining, watcher) {
      watching = watcher;
      dialog ??= build();
      const s: SessionStatus | null = watcher.status;
      const canExtend = s !== null && s.idleExpiresAt !== s.absoluteExpiresAt;
      message.textContent = text(remaining, canExtend);
      stay.hidden = !canExtend;
      if (!dialog.open) dialog.showModal();
    },
    onActive() {
      if (dialog?.open) dialog.close();
    },
  };
}
