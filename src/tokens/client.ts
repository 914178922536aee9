/**
 * A small fetch wrapper for API clients of `tessera/tokens` (browsers, React Native, Node):
 * it attaches the access token, refreshes once when the server answers 401 (one refresh in
 * flight, shared by every concurrent call), retries the original request with the new token,
 * keeps the tokens in an injectable storage, and reports "signed out" when the refresh is
 * refused. No dependency and no Node API: only `fetch`, `Headers` and promises.
 *
 * A refresh whose response never arrives (a network error) keeps the old tokens: the next
 * call refreshes with the same refresh token, and the server hands out the same pair again.
 * @module
 */

/** What the client keeps between calls: the pair the server gave (`issue` or the refresh endpoint). */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token stops working (ms since epoch); the client refreshes before sending a call past it. */
  accessExpiresAt?: number;
}

/**
 * Where tokens live. Memory by default; on a phone, the platform's secure storage
 * (iOS Keychain, Android Keystore; e.g. `expo-secure-store`'s `getItemAsync`/`setItemAsync`
 * with `JSON.stringify`). Never `localStorage` in a browser that runs third-party scripts.
 */
export interface TokenStorage {
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  /** `null`: forget them (signed out). */
  set(tokens: StoredTokens | null): void | Promise<void>;
}

/** Options of {@link createTokenClient}. */
export interface TokenClientOptions {
  /** The refresh endpoint (`refreshEndpoint(tokens)` on the server), e.g. `'https://api.example/token/refresh'`. */
  refreshUrl: string;
  /** The `fetch` to use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Where tokens are kept. @default {@link memoryStorage}() */
  storage?: TokenStorage;
  /** Called once each time the tokens are refused (the refresh failed): show the sign-in screen. */
  onSignedOut?: () => void;
  /** The clock (ms since epoch). @default Date.now */
  now?: () => number;
}

/** The wrapper {@link createTokenClient} returns. */
export interface TokenClient {
  /**
   * `fetch` with the access token attached, refreshed and retried once on a 401. The body must
   * be replayable (a string, `Blob`, `FormData`, `URLSearchParams`; not a stream).
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** Keep a pair the server gave at sign-in. */
  signIn(tokens: StoredTokens): Promise<void>;
  /** Forget the tokens (tell the server too, with `tokens.revoke`, if it should end the family). */
  signOut(): Promise<void>;
}

/** Tokens kept in this process's memory only. */
export function memoryStorage(): TokenStorage {
  let kept: StoredTokens | null = null;
  return {
    get: () => kept,
    set: (tokens) => void (kept = tokens),
  };
}

/** Build a client; see {@link TokenClient}. */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const storage = options.storage ?? memoryStorage();
  const now = options.now ?? Date.now;
  let flight: Promise<StoredTokens | null> | undefined;

  /** One refresh for everyone who needs it now. `null`: signed out. Throws on a network error (tokens kept). */
  const refresh = (used: StoredTokens): Promise<StoredTokens | null> => {
    flight ??= (async () => {
      try {
        const response = await send(options.refreshUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refreshToken: used.refreshToken }),
        });
        if (response.status === 200) {
          const body = (await response.json()) as StoredTokens;
          const next: StoredTokens = { accessToken: body.accessToken, refreshToken: body.refreshToken, ...(typeof body.accessExpiresAt === 'number' && { accessExpiresAt: body.accessExpiresAt }) };
          await storage.set(next);
          return next;
        }
        if (response.status === 400 || response.status === 401) {
          await storage.set(null);
          options.onSignedOut?.();
          return null;
        }
        throw new Error(`tessera/client: the refresh endpoint answered ${response.status}`);
      } finally {
        flight = undefined;
      }
    })();
    return flight;
  };

  /** The tokens to send with: fresh ones, refreshed first when the access token is known to be expired. */
  const current = async (): Promise<StoredTokens | null> => {
    if (flight !== undefined) return flight;
    const tokens = await storage.get();
    if (tokens !== null && tokens.accessExpiresAt !== undefined && now() >= tokens.accessExpiresAt) return refresh(tokens);
    return tokens;
  };

  const attempt = (input: string | URL, init: RequestInit | undefined, tokens: StoredTokens | null): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (tokens !== null) headers.set('authorization', `Bearer ${tokens.accessToken}`);
    return send(input, { ...init, headers });
  };

  return {
    async fetch(input, init) {
      const used = await current();
      const response = await attempt(input, init, used);
      if (response.status !== 401 || used === null) return response;
      // Someone refreshed while this call was out: retry with their tokens, no second refresh.
      const latest = flight !== undefined ? await flight : await storage.get();
      if (latest === null) return response; // signed out meanwhile
      const next = latest.accessToken !== used.accessToken ? latest : await refresh(latest);
      if (next === null) return response;
      return attempt(input, init, next);
    },
    async signIn(tokens) {
      await storage.set(tokens);
    },
    async signOut() {
      await storage.set(null);
    },
  };
}
