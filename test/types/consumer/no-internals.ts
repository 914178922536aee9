// A consumer of the published package. Every line marked @ts-expect-error must be an error:
// if one compiles, an app could reach the store gateway, forge events or mint cookies.
import { createSessions, RequestSession, type Engine } from 'tessera';
import session from 'tessera/express';
import { MemoryStore } from 'tessera/stores/memory';

export function inspect(engine: Engine, rs: RequestSession): unknown[] {
  return [
    // @ts-expect-error the store gateway is internal
    engine.write,
    // @ts-expect-error the store gateway is internal
    engine.read,
    // @ts-expect-error events are emitted by the core only
    engine.emit,
    // @ts-expect-error session limits are enforced by signIn, not called by apps
    engine.makeRoomFor,
    // @ts-expect-error the key ring (which signs cookies) is internal
    engine.options.keyRing,
    // @ts-expect-error the store is the app's own object; the engine does not hand it back
    engine.options.store,
    // @ts-expect-error the context is private
    engine.ctx,
    // @ts-expect-error request sessions are made by the engine only
    new RequestSession(),
    // @ts-expect-error the request's state is private
    rs.state,
    // @ts-expect-error a request session cannot write records directly
    rs.write,
  ];
}

// @ts-expect-error the key ring is not exported
import { KeyRing } from 'tessera';

export const ring: unknown = KeyRing;

const engine = createSessions({ secret: 'a-strong-secret-of-at-least-32-bytes!', store: new MemoryStore() });
const middleware = session({ secret: 'a-strong-secret-of-at-least-32-bytes!' });
export const reachable: unknown[] = [
  engine.options.idleTimeout,
  engine.listUserSessions('alice'),
  engine.revokeUser('alice'),
  middleware.engine.options.cookie.name,
  // @ts-expect-error the Express middleware's engine keeps its key ring private too
  middleware.engine.options.keyRing,
];
