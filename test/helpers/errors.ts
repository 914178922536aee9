/** What a synchronous call threw, or `undefined` if it returned (for asserting on error codes). */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
