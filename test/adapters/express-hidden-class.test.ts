/**
 * The Express adapter's V8 optimisation (src/adapters/express/hidden-class.ts) must keep
 * applying: requests and responses it adds properties to are in hash-table property storage.
 * If a V8 or Express upgrade stops that, this fails, and bench/NOTES.md says what it costs.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const probe = fileURLToPath(new URL('./fixtures/hidden-class-probe.ts', import.meta.url));

describe('the hidden-class optimisation of the Express adapter', () => {
  it('puts a prototype-swapped object, an event emitter (keeping its listeners), and every Express request and response with a session, in hash-table mode', () => {
    const output = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', probe], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, boolean>;
    expect(result).toEqual({ before: true, after: false, emitterSwitched: true, request: false, response: false });
  });
});
