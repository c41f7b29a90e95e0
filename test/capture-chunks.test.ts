/** The reader's output must not depend on how the input is cut into chunks. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES, parseBytes } from './capture-fixtures.js';

function summary(bytes: Uint8Array, chunkSize: number) {
  const { packets, info } = parseBytes(bytes, chunkSize);
  const hash = createHash('sha1');
  for (const p of packets) hash.update(JSON.stringify(p));
  return { count: packets.length, hash: hash.digest('hex'), info };
}

describe('capture reader is chunk-boundary independent', () => {
  it('has fixtures to test', () => {
    expect(FIXTURES.length).toBeGreaterThan(50);
  });
  for (const [name, path] of FIXTURES) {
    it(name, () => {
      const bytes = readFileSync(path);
      const whole = summary(bytes, bytes.length);
      for (const size of [1, 7, 321, 65536]) {
        const sliced = summary(bytes, size);
        expect({ size, ...sliced }).toEqual({ size, ...whole });
      }
    });
  }
});
