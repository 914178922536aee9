/**
 * `accessTokens: 'jwt'` on a machine without the optional `jose` package (its import made to
 * fail here, since this repository has it installed): the first sign-in says what to install,
 * and stores nothing, so no family is left behind that no token leads to.
 */
import { describe, expect, it, vi } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';
import { createTokens } from '../../src/tokens/index.js';
import { SECRET } from '../helpers/express-app.js';

vi.mock('jose', () => {
  throw new Error("Cannot find package 'jose'");
});

describe("accessTokens: 'jwt' without jose", () => {
  it('refuses to sign in with a message naming the package, and stores nothing', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const engine = createSessions({ secret: SECRET, store });
    const tokens = createTokens(engine, { accessTokens: 'jwt' });
    await expect(tokens.issue('alice')).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(/npm install jose/) });
    expect(await engine.listUserSessions('alice')).toEqual([]);
    expect(store.bytes).toBe(0);
    // Opaque mode on the same engine needs no jose at all.
    expect((await createTokens(engine).issue('alice')).accessToken).toMatch(/^ta1\./);
  });
});
