/**
 * A timeout for the sign-in page: its form expires after a while, so a sign-in page left open
 * (on a shared computer) is not used hours later with what it held, as the OWASP session
 * management cheat sheet suggests for the initial login timeout.
 * @module
 */
import { page, type KitForm } from './dom.js';

/** Options of {@link expireSignInPage}. */
export interface SignInPageOptions {
  /** How long the form stays usable, in ms. @default 600_000 (10 min) */
  after?: number;
  /** The form, or a selector for it. @default 'form' (the first form of the page) */
  form?: KitForm | string;
  /**
   * What to do once it expired; the form's password fields are cleared and its controls
   * disabled first, and it gets a `data-expired` attribute. @default reloads the page
   */
  onExpire?(form: KitForm | null): void;
}

/**
 * Expire the sign-in form after `after` ms.
 * @example expireSignInPage({ after: 5 * 60_000 });
 * @returns `stop()` cancels it.
 */
export function expireSignInPage(options: SignInPageOptions = {}): { stop(): void } {
  const timer = setTimeout(() => {
    const f = options.form ?? 'form';
    const form = typeof f === 'string' ? (page.document.querySelector(f) as KitForm | null) : f;
    if (form) {
      for (const control of Array.from(form.elements)) {
        if (control.type === 'password') control.value = '';
        control.disabled = true;
      }
      form.setAttribute('data-expired', '');
    }
    (options.onExpire ?? (() => page.location.reload()))(form);
  }, options.after ?? 600e3);
  return { stop: () => clearTimeout(timer) };
}
