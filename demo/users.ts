/**
 * The demo's user directory: two users whose passwords are hashed with Argon2id when the app
 * starts. A real app keeps the hashes in its database; the checks are the same.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** A signed-in user as the pages show them. */
export interface User {
  /** Stable id, passed to `req.session.signIn()`. */
  id: string;
  /** What the pages call them. */
  name: string;
}

/** Demo credentials. Shown on the sign-in page until changed: never do this with real accounts. */
export const DEMO_USERS = [
  { id: 'alice', name: 'Alice', password: 'alice-demo-password' },
  { id: 'bob', name: 'Bob', password: 'bob-demo-password' },
] as const;

/**
 * Argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane). Argon2id is also
 * @node-rs/argon2's default algorithm; the stored PHC string starts with `$argon2id$`.
 */
const HASH_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Shortest new password accepted: 12 characters, as OWASP ASVS 4.0 V2.1.1 asks. */
export const MIN_PASSWORD_LENGTH = 12;

/** Longest password accepted: Argon2 handles any length, but there is no reason to hash megabytes. */
export const MAX_PASSWORD_LENGTH = 1024;

interface StoredUser extends User {
  passwordHash: string;
}

/** Looks users up and checks passwords. */
export interface UserDirectory {
  /** The user whose password this is, or `null`: one answer for an unknown user and a wrong password. */
  authenticate(username: string, password: string): Promise<User | null>;
  /** A user by id, or `null`. */
  find(id: string): User | null;
  /** Store a new password (its Argon2id hash) for an existing user. */
  setPassword(id: string, password: string): Promise<void>;
  /** The demo credentials that still work: a user's disappears once its password is changed. */
  demoCredentials(): Array<{ id: string; password: string }>;
}

/** Hash a password for storage: a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, HASH_OPTIONS);
}

/** Hash the demo users' passwords and return the directory. */
export async function createUserDirectory(): Promise<UserDirectory> {
  const users = new Map<string, StoredUser>();
  for (const { id, name, password } of DEMO_USERS) {
    users.set(id, { id, name, passwordHash: await hashPassword(password) });
  }
  // An unknown user is checked against this hash, so that both failures take the same time and
  // the response time does not tell which usernames exist.
  const decoyHash = await hashPassword(randomBytes(32).toString('base64url'));
  /** Users whose password is no longer the demo one. */
  const changed = new Set<string>();

  return {
    async authenticate(username, password) {
      const user = users.get(username.trim().toLowerCase());
      if (password.length > MAX_PASSWORD_LENGTH) return null;
      // verify() compares in constant time and reads the parameters from the PHC string.
      const valid = await verify(user?.passwordHash ?? decoyHash, password);
      return valid && user !== undefined ? { id: user.id, name: user.name } : null;
    },
    find(id) {
      const user = users.get(id);
      return user === undefined ? null : { id: user.id, name: user.name };
    },
    async setPassword(id, password) {
      const user = users.get(id);
      if (user === undefined) throw new Error(`No user ${id}`);
      user.passwordHash = await hashPassword(password);
      changed.add(id);
    },
    demoCredentials() {
      return DEMO_USERS.filter((user) => !changed.has(user.id)).map(({ id, password }) => ({ id, password }));
    },
  };
}
