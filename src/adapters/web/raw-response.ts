/**
 * The safety net of the adapters that run on Node's `http` (Fastify, Koa): their framework
 * commits the session in its own hook before it writes the headers (Fastify's `onSend`, the
 * end of Koa's middleware), but an app can also write to the Node response itself
 * (`reply.hijack()` or `reply.raw` in Fastify, `ctx.respond = false` or `ctx.res` in Koa).
 * This puts the shared Node hook (`../node-response.js`) on that response: headers written
 * early still carry a rotated token (and announce a new session the save will store), and the
 * end of the response waits for the save.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ResponseHeaders } from '../../core/headers.js';
import { commitBeforeEnd, type Responses } from '../node-response.js';
import type { RequestBinding } from './binding.js';

/**
 * What to do with a save that failed on this path, where the framework's own error handling is
 * out of reach (the app took the response over). `respond` finishes the response: the app's
 * own (`asTheAppWrote`) or a short error (`withStatus`).
 */
export type RawSaveError = (error: unknown, headersSent: boolean, respond: Responses) => void;

/**
 * Commit `binding` before `res` completes, whichever way the app writes it. Install once per request.
 * @param prepare runs before the session's headers are made or it is saved (an adapter copies
 * what its session object holds into the session).
 * @param rewrite turns the core's headers into the adapter's (the Fastify plugin writes its
 * cookie value in @fastify/session's shape).
 */
export function guardRawResponse(
  res: ServerResponse,
  binding: RequestBinding,
  onError: RawSaveError,
  prepare: () => void = () => {},
  rewrite: (headers: ResponseHeaders) => ResponseHeaders = (headers) => headers,
): void {
  let pending: ResponseHeaders = [];
  commitBeforeEnd(res, {
    ending: () => {
      if (binding.made) binding.session.responseEnding();
    },
    async save() {
      // The framework's hook committed already: nothing left but a streamed session's save.
      if (binding.open) {
        prepare();
        pending = rewrite(await binding.commit());
      }
      else await binding.finish();
    },
    headers(beforeSave) {
      if (beforeSave) {
        if (binding.open) prepare();
        return rewrite(binding.headersBeforeSave());
      }
      const headers = pending;
      pending = [];
      return headers;
    },
    onError,
  });
}
