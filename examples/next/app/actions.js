'use server';
import { sessions } from '../lib/sessions.js';

/** A server action: the session is read and its new cookie written through cookies(). */
export async function signInAction(formData) {
  const user = String(formData.get('user') ?? 'grace');
  await sessions.action((session) => session.signIn(user));
}
