/**
 * The conformance cases `LegacyStore` cannot pass on any express-session store, with the reason
 * (shown in the skipped tests' names). Shared by every file that runs the suite on it.
 */
export const LEGACY_STORE_SKIPS = {
  'cas.create-once':
    'an express-session store has no conditional write, and some never call back for a key they do not hold, so LegacyStore ' +
    'creates without reading first (as express-session does); the keys tessera creates are random (128 bits) or derived from ' +
    'the migrated session, so two creates of one key write the same session',
  'cas.concurrent-create': 'see cas.create-once: a create is an unconditional set on an express-session store',
  'delta.set-remove':
    'an express-session store has no partial update, so LegacyStore has no applyDelta: the engine writes whole records with compare-and-set',
  'delta.awkward-keys': 'see delta.set-remove',
  'delta.awkward-values': 'see delta.set-remove',
  'delta.missing': 'see delta.set-remove',
  'delta.expired': 'see delta.set-remove',
  'delta.times-forward': 'see delta.set-remove',
  'delta.concurrent': 'see delta.set-remove',
  'delta.then-cas': 'see delta.set-remove',
} as const;
