/** better-sqlite3-session-store ships no types: the one call the benchmark makes. */
declare module 'better-sqlite3-session-store' {
  import type session from 'express-session';
  const makeStore: (expressSession: typeof session) => new (options: object) => session.Store;
  export default makeStore;
}

/** express-mysql-session's types are a separate package: the one call the benchmark makes. */
declare module 'express-mysql-session' {
  import type session from 'express-session';
  const makeStore: (expressSession: typeof session) => new (options: object, connection?: unknown) => session.Store;
  export default makeStore;
}
