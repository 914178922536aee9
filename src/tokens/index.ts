/**
 * `tessera/tokens`: short-lived access tokens and rotating refresh tokens with theft
 * detection, for API, mobile and desktop clients, on the same store, key ring and events as
 * the sessions (see the README's "API and mobile clients").
 * @module
 */
export { createTokens, Tokens } from './tokens.js';
export type { AccessGrant, IssueMeta, RefreshFailure, RefreshResult, TokenPair, TokenRequest } from './tokens.js';
export type { TokenOptions } from './options.js';
export type { JwtAlgorithm, JwtOptions, PublicJwk } from './jwt.js';
export type { AccessSession } from './guard.js';
export { refreshEndpoint, requireAccessToken } from './express.js';
export { fastifyRefreshEndpoint, fastifyRequireAccessToken } from './fastify.js';
export type { AccessTokenRequest, FastifyReplyLike, FastifyRequestLike } from './fastify.js';
export { refreshHandler, verifyBearer, withAccessToken } from './web.js';
export type { AccessHandler, TokenRequestContext } from './web.js';
// The client half is `tessera/client` (src/tokens/client.ts): it imports nothing, so browsers
// and React Native load it without this module's node:crypto. Only its types are repeated here.
export type { StoredTokens, TokenClient, TokenClientOptions, TokenStorage } from './client.js';
