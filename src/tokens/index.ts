/**
 * `tessera/tokens`: short-lived access tokens and rotating refresh tokens with theft
 * detection, for API, mobile and desktop clients, on the same store, key ring and events as
 * the sessions (see the README's "API and mobile clients").
 * @module
 */
export { createTokens, Tokens } from './tokens.js';
export type { AccessGrant, IssueMeta, RefreshFailure, RefreshResult, TokenPair, TokenRequest } from './tokens.js';
export type { TokenOptions } from './options.js';
export { refreshEndpoint, requireAccessToken } from './express.js';
export type { AccessSession } from './express.js';
// The client half, for Node clients for now. It imports nothing, so a `tessera/client` subpath
// (an entry for src/tokens/client.ts) can serve browsers and React Native without node:crypto.
export { createTokenClient, memoryStorage } from './client.js';
export type { StoredTokens, TokenClient, TokenClientOptions, TokenStorage } from './client.js';
