import { describe, expect, it } from 'vitest';
import { SessionHandle } from '../../src/core/handle.js';

function changesOf(handle: SessionHandle): Record<string, unknown> {
  return Object.fromEntries(handle.changes());
}

describe('SessionHandle dirty tracking', () => {
  it('reports no change after reads only, including reads of objects and missing keys', () => {
    const handle = new SessionHandle({ name: 'ada', cart: { items: [1, 2] } });
    handle.get('name');
    handle.get('cart');
    handle.get('missing');
    handle.has('cart');
    handle.keys();

    expect(handle.isDirty).toBe(false);
    expect(handle.changes().size).toBe(0);
  });

  it('tracks a set key with its new value', () => {
    const handle = new SessionHandle({ a: 1 });
    handle.set('b', 2);
    handle.set('a', 10);

    expect(changesOf(handle)).toEqual({ a: 10, b: 2 });
    expect(handle.snapshot()).toEqual({ a: 10, b: 2 });
  });

  it('tracks a deleted key as a change to undefined, and setting undefined as a delete', () => {
    const handle = new SessionHandle({ a: 1, b: 2 });
    handle.delete('a');
    handle.set('b', undefined);

    expect(handle.changes()).toEqual(new Map([['a', undefined], ['b', undefined]]));
    expect(handle.has('a')).toBe(false);
    expect(handle.snapshot()).toEqual({});
  });

  it('does not count deleting a missing key as a change', () => {
    const handle = new SessionHandle({ a: 1 });
    handle.delete('nope');
    handle.set('nope', undefined);

    expect(handle.isDirty).toBe(false);
  });

  it('notices in-place mutation of an object value it handed out', () => {
    const handle = new SessionHandle({ cart: { items: [1] }, prefs: { theme: 'dark' } });
    handle.get<{ items: number[] }>('cart')!.items.push(2);
    handle.get<{ theme: string }>('prefs');

    expect(changesOf(handle)).toEqual({ cart: { items: [1, 2] } });
  });

  it('does not count an in-place mutation that was undone', () => {
    const handle = new SessionHandle({ cart: { items: [1] } });
    const cart = handle.get<{ items: number[] }>('cart')!;
    cart.items.push(2);
    cart.items.pop();

    expect(handle.isDirty).toBe(false);
  });

  it('notices mutation of an object read twice', () => {
    const handle = new SessionHandle({ list: [1] });
    const first = handle.get<number[]>('list')!;
    const again = handle.get<number[]>('list')!;
    again.push(2);

    expect(first).toBe(again);
    expect(changesOf(handle)).toEqual({ list: [1, 2] });
  });

  it('writes the current value of an object mutated after it was set', () => {
    const handle = new SessionHandle();
    const prefs: Record<string, string> = { theme: 'dark' };
    handle.set('prefs', prefs);
    prefs['lang'] = 'fr';

    expect(changesOf(handle)).toEqual({ prefs: { theme: 'dark', lang: 'fr' } });
  });

  it('counts removing every key with clear() as one change per key', () => {
    const handle = new SessionHandle({ a: 1, b: 2 });
    handle.clear();

    expect(handle.changes()).toEqual(new Map([['a', undefined], ['b', undefined]]));
    expect(handle.size).toBe(0);
  });

  it('forgets pending changes on reset', () => {
    const handle = new SessionHandle({ a: 1 });
    handle.set('a', 2);
    handle.get<number[]>('a');
    handle.reset({ z: [1] });
    handle.get<number[]>('z')!.push(3);
    handle.reset({ z: [1] });

    expect(handle.isDirty).toBe(false);
    expect(handle.snapshot()).toEqual({ z: [1] });
  });

  it('marks every present key as written with markAllWritten', () => {
    const handle = new SessionHandle({ a: 1, b: { c: 2 } });
    handle.markAllWritten();

    expect(changesOf(handle)).toEqual({ a: 1, b: { c: 2 } });
  });

  it('serialises to its data with JSON.stringify', () => {
    const handle = new SessionHandle({ a: 1 });
    handle.set('b', 'two');

    expect(JSON.parse(JSON.stringify(handle))).toEqual({ a: 1, b: 'two' });
  });
});

describe('SessionHandle.rebase', () => {
  it("applies this request's sets and deletes on top of a fresher copy and keeps them pending", () => {
    const handle = new SessionHandle({ a: 1, b: 2, shared: 'old' });
    handle.set('mine', 'x');
    handle.delete('b');
    const changes = handle.changes();

    handle.rebase({ a: 1, b: 2, shared: 'theirs', theirs: true }, changes);

    expect(handle.snapshot()).toEqual({ a: 1, shared: 'theirs', theirs: true, mine: 'x' });
    expect(changesOf(handle)).toEqual({ mine: 'x', b: undefined });
  });

  it('re-applies an in-place mutation as the whole new value of that key', () => {
    const handle = new SessionHandle({ cart: { items: [1] }, other: 0 });
    handle.get<{ items: number[] }>('cart')!.items.push(2);
    const changes = handle.changes();

    handle.rebase({ cart: { items: [1] }, other: 5 }, changes);

    expect(handle.snapshot()).toEqual({ cart: { items: [1, 2] }, other: 5 });
    expect(changesOf(handle)).toEqual({ cart: { items: [1, 2] } });
  });

  it('does not report keys that only the fresher copy changed', () => {
    const handle = new SessionHandle({ a: 1 });
    handle.rebase({ a: 2, b: 3 }, new Map());

    expect(handle.isDirty).toBe(false);
    expect(handle.snapshot()).toEqual({ a: 2, b: 3 });
  });
});

describe('SessionHandle and prototype keys', () => {
  it('never lets a __proto__ key reach Object.prototype', () => {
    const handle = new SessionHandle();
    handle.set('__proto__', { polluted: true });
    handle.set('constructor', { prototype: { polluted: true } });

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(handle.get('__proto__')).toEqual({ polluted: true });
    expect(handle.keys()).toEqual(['__proto__', 'constructor']);
  });

  it('treats __proto__ in loaded JSON data as a plain key', () => {
    const loaded = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const handle = new SessionHandle(loaded);
    const snapshot = handle.snapshot();

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(snapshot)).toBe(Object.prototype);
    expect(Object.hasOwn(snapshot, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(loaded);
  });

  it('keeps __proto__ a plain key through rebase', () => {
    const handle = new SessionHandle();
    handle.set('__proto__', { polluted: true });
    handle.rebase(JSON.parse('{"__proto__": {"other": 1}}') as Record<string, unknown>, handle.changes());

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['other']).toBeUndefined();
    expect(handle.get('__proto__')).toEqual({ polluted: true });
  });

  it('does not report inherited Object.prototype members as session keys', () => {
    const handle = new SessionHandle({});

    for (const key of ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf']) {
      expect(handle.has(key)).toBe(false);
      expect(handle.get(key)).toBeUndefined();
    }
    handle.delete('toString');
    expect(handle.isDirty).toBe(false);
  });
});
