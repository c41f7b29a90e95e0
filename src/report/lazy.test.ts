import { describe, expect, it } from 'vitest';
import { defineLazy } from './lazy.js';

describe('defineLazy', () => {
  it('builds the value on first read only, keeps it, and keeps the key where it was', () => {
    let made = 0;
    let settled = 0;
    const r = defineLazy(
      { a: 1, list: [] as number[], z: 2 },
      'list',
      () => {
        made++;
        return [1, 2, 3];
      },
      () => settled++,
    );
    expect(made).toBe(0);
    expect(Object.keys(r)).toEqual(['a', 'list', 'z']);
    expect(r.list).toEqual([1, 2, 3]);
    expect(r.list).toBe(r.list);
    expect(JSON.stringify(r)).toBe('{"a":1,"list":[1,2,3],"z":2}');
    expect([made, settled]).toEqual([1, 1]);
  });

  it('takes an assignment instead, without building, and settles once', () => {
    let made = 0;
    let settled = 0;
    const r = defineLazy(
      { list: [] as number[] },
      'list',
      () => {
        made++;
        return [1];
      },
      () => settled++,
    );
    r.list = [9];
    r.list = [8];
    expect(r.list).toEqual([8]);
    expect({ ...r }).toEqual({ list: [8] });
    expect([made, settled]).toEqual([0, 1]);
  });
});
