/**
 * The session data handle with dirty tracking.
 *
 * It records which top-level keys a request set or deleted, and snapshots object values when
 * they are first read so that in-place changes (`cart.items.push(x)`) are noticed too. Commit
 * writes only when something changed, and on a compare-and-set conflict re-applies exactly
 * these changes to the fresh record, so two requests that change different keys both win.
 *
 * What is merged when requests of one session overlap: changes to *different* keys always
 * both stay; for the *same* key, the last writer wins (as in every session library), except
 * through {@link SessionHandle.update}, whose function runs again on the freshest value, so
 * 200 parallel `update('count', (n = 0) => n + 1)` count 200.
 * @module
 */

/** Session data: a JSON-serialisable object keyed by strings. */
export type SessionData = Record<string, unknown>;

/** Keys a handle changed, with their new values (`undefined` = deleted). */
export type DataChanges = ReadonlyMap<string, unknown>;

/** A per-request view of session data that knows what changed. */
export class SessionHandle {
  #data: SessionData;
  /** Keys set or deleted through the handle. */
  readonly #written = new Set<string>();
  /** JSON of object values at their first read, to detect in-place mutation. */
  readonly #snapshots = new Map<string, string>();
  /**
   * Keys changed through {@link update} since load and never set or deleted plainly since: the
   * update functions, replayed in order on a fresher value when the write is rebased.
   */
  readonly #updates = new Map<string, Array<(value: unknown) => unknown>>();
  /** Keys set or deleted plainly: later updates build on that value, not on a fresher one. */
  readonly #plain = new Set<string>();

  /** @param data the loaded data; the handle takes ownership (it is not copied). */
  constructor(data: SessionData = {}) {
    this.#data = toDataObject(data);
  }

  /** The value of a key, or `undefined`. Object values are watched for in-place changes. */
  get<T = unknown>(key: string): T | undefined {
    if (!Object.hasOwn(this.#data, key)) return undefined;
    const value = this.#data[key];
    if (typeof value === 'object' && value !== null && !this.#written.has(key) && !this.#snapshots.has(key)) {
      this.#snapshots.set(key, JSON.stringify(value));
    }
    return value as T;
  }

  /**
   * Set a key. Setting `undefined` deletes it (JSON cannot hold `undefined`). Setting a key to
   * the primitive value it already holds is not a change (`req.session.user = 'bob'` on every
   * request writes nothing); an object is watched for changes from its first read.
   */
  set(key: string, value: unknown): void {
    if (value === undefined) {
      this.delete(key);
      return;
    }
    const current = this.#data[key];
    if (Object.is(current, value) && Object.hasOwn(this.#data, key)) {
      if (typeof value !== 'object' || value === null) return;
      // The same object again: its own changes show against the snapshot of its first read.
      if (this.#snapshots.has(key) || this.#written.has(key)) return;
    }
    this.#assign(key, value);
    this.#plain.add(key);
    this.#updates.delete(key);
  }

  /** Delete a key. Deleting a missing key is not a change. */
  delete(key: string): void {
    if (!Object.hasOwn(this.#data, key)) return;
    this.#assign(key, undefined);
    this.#plain.add(key);
    this.#updates.delete(key);
  }

  #assign(key: string, value: unknown): void {
    if (value === undefined) delete this.#data[key];
    else this.#data[key] = value;
    this.#written.add(key);
  }

  /**
   * Change a key from its current value: `fn` gets the value (or `undefined`) and returns the
   * new one (`undefined` deletes the key). If another request wrote the session meanwhile, `fn`
   * runs again on the value that request left, so concurrent updates of one key all count.
   * `fn` must not have side effects: it may run more than once. @returns the new value.
   * @example session.data.update('count', (n: number | undefined) => (n ?? 0) + 1)
   */
  update<T>(key: string, fn: (value: T | undefined) => T | undefined): T | undefined {
    const next = fn(this.get<T>(key));
    this.#assign(key, next);
    if (!this.#plain.has(key)) {
      const replay = this.#updates.get(key) ?? [];
      replay.push(fn as (value: unknown) => unknown);
      this.#updates.set(key, replay);
    }
    return next;
  }

  /** Whether a key is present. */
  has(key: string): boolean {
    return Object.hasOwn(this.#data, key);
  }

  /** The keys present, in insertion order. */
  keys(): string[] {
    return Object.keys(this.#data);
  }

  /** Number of keys present. */
  get size(): number {
    return Object.keys(this.#data).length;
  }

  /** Whether the data differs from what was loaded. */
  get isDirty(): boolean {
    return this.changes().size > 0;
  }

  /** The changed keys and their current values (`undefined` for deleted keys). */
  changes(): DataChanges {
    const changes = new Map<string, unknown>();
    for (const key of this.#written) changes.set(key, this.#data[key]);
    for (const [key, json] of this.#snapshots) {
      if (changes.has(key)) continue;
      if (JSON.stringify(this.#data[key]) !== json) changes.set(key, this.#data[key]);
    }
    return changes;
  }

  /**
   * Whether every pending change is a plain set or delete, which commutes with other requests'
   * changes of other keys, so it may go to the store as a delta. A key changed through
   * {@link update} must see the value it changes: that needs compare-and-set.
   */
  get onlyPlainChanges(): boolean {
    return this.#updates.size === 0;
  }

  /**
   * The pending changes as keys to set and keys to remove.
   * @param changes what {@link changes} returned, if the caller has it already.
   */
  delta(changes: DataChanges = this.changes()): { set: Record<string, unknown>; remove: string[] } {
    // No prototype: a key named `__proto__` is data like any other.
    const set = Object.create(null) as Record<string, unknown>;
    const remove: string[] = [];
    for (const [key, value] of changes) {
      if (value === undefined) remove.push(key);
      else set[key] = value;
    }
    return { set, remove };
  }

  /** Take the current data as written: no change is pending any more. */
  markWritten(): void {
    this.#forgetChanges();
  }

  /** A plain copy of the data for writing. */
  snapshot(): SessionData {
    return { ...this.#data };
  }

  /** The data itself, to read without copying (checks before a write). Callers must not change it. */
  view(): Readonly<SessionData> {
    return this.#data;
  }

  /**
   * Replace the data with a fresher copy from the store and apply this request's changes on top:
   * plain sets and deletes as they are, {@link update}s by running their functions again on the
   * fresher value. Afterwards the changes are still pending (they have not been written yet).
   */
  rebase(fresh: SessionData, changes: DataChanges): void {
    const data = toDataObject(fresh);
    for (const [key, value] of changes) {
      const updates = this.#updates.get(key);
      // Only updated since load: replay on the fresh value. Set or deleted plainly (and maybe
      // updated after): that value stands, and it is already in `value`.
      const replayed = updates !== undefined ? updates.reduce((v, fn) => fn(v), data[key]) : value;
      if (replayed === undefined) delete data[key];
      else data[key] = replayed;
    }
    this.#data = data;
    this.#snapshots.clear();
    this.#written.clear();
    for (const key of changes.keys()) this.#written.add(key);
  }

  /** Replace all data and forget pending changes (after a reload or a successful write). */
  reset(data: SessionData): void {
    this.#data = toDataObject(data);
    this.#forgetChanges();
  }

  #forgetChanges(): void {
    this.#written.clear();
    this.#snapshots.clear();
    this.#updates.clear();
    this.#plain.clear();
  }

  /** Mark every present key as written (used when an app asks to save everything). */
  markAllWritten(): void {
    for (const key of Object.keys(this.#data)) this.#written.add(key);
  }

  /** Remove every key (each removal is a change). */
  clear(): void {
    for (const key of Object.keys(this.#data)) this.delete(key);
  }

  /** The data, for `JSON.stringify(handle)`. */
  toJSON(): SessionData {
    return this.snapshot();
  }
}

/**
 * Copy data into an object without a prototype, so keys such as `__proto__` and `constructor`
 * are plain own keys and can never reach `Object.prototype`.
 */
function toDataObject(data: SessionData): SessionData {
  const target = Object.create(null) as SessionData;
  // Plain assignment is safe here: without a prototype there is no `__proto__` setter, so
  // every key, `__proto__` included, becomes an own data property (and it is faster than
  // defining each one).
  for (const key of Object.keys(data)) target[key] = data[key];
  return target;
}
