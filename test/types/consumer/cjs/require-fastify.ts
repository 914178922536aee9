// As with @fastify/session, `require('tessera/fastify')` is the plugin itself, with its statics.
import fastifySession = require('tessera/fastify');

export const statics: unknown[] = [fastifySession.Store, fastifySession.MemoryStore, fastifySession.Cookie, fastifySession.idGenerator, fastifySession.fastifySession];
