/**
 * Mutation fuzz of the capture reader over the public fixtures: byte flips,
 * truncations and hostile length fields. Nothing may escape but
 * CaptureOpenError (destroyed magic), parsing always terminates, and the
 * bytes buffered stay bounded whatever a length field claims.
 * FUZZ_ITERATIONS sets the budget (`npm run fuzz` runs 200 000).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureParser, MAX_BLOCK_LEN } from '../../src/capture/parser.js';
import { CaptureOpenError } from '../../src/capture/types.js';
import { FIXTURES } from '../capture-fixtures.js';
import { seededRandom } from '../../src/synth/random.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
/** Fixtures small enough to mutate quickly. */
const CORPUS = FIXTURES.map(([name, path]) => ({ name, bytes: readFileSync(path) })).filter((f) => f.bytes.length <= 200_000);

const HOSTILE_LENGTHS = [0, 1, 11, 12, 13, 0x7fffffff, 0xffffffff, 0x10000, 262_145, MAX_BLOCK_LEN + 4];

function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const b = Uint8Array.from(src);
  switch (pick(4)) {
    case 0: // random byte flips
      for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)] ^= 1 + pick(255);
      return b;
    case 1: // truncation
      return b.subarray(0, pick(b.length));
    default: {
      // a hostile 32-bit value at a 4-aligned offset: hits block lengths, caplen and option lengths
      const off = pick(Math.max(1, b.length >> 2)) << 2;
      const v = HOSTILE_LENGTHS[pick(HOSTILE_LENGTHS.length)];
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (off + 4 <= b.length) dv.setUint32(off, v, rand() < 0.5);
      return b;
    }
  }
}

describe('reader fuzz', () => {
  it(`survives ${ITERATIONS} mutations (seed ${SEED})`, () => {
    console.log(`reader fuzz: seed ${SEED}, ${ITERATIONS} iterations over ${CORPUS.length} fixtures`);
    const rand = seededRandom(SEED);
    let openErrors = 0;
    let stoppedWithError = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = CORPUS[Math.floor(rand() * CORPUS.length)];
      const input = mutate(base.bytes, rand);
      const chunk = [1 << 16, 321, 4096][i % 3];
      let delivered = 0;
      const parser = new CaptureParser(base.name, (p) => {
        if (p.data.length !== p.caplen) throw new Error('data.length != caplen');
        delivered++;
      });
      try {
        for (let at = 0; at < input.length && !parser.stopped; at += chunk) parser.push(input.subarray(at, at + chunk));
        parser.end();
      } catch (err) {
        if (!(err instanceof CaptureOpenError)) {
          throw new Error(`iteration ${i} (seed ${SEED}, ${base.name}): ${(err as Error).stack}`);
        }
        openErrors++;
        continue;
      }
      expect(parser.stopped).toBe(true);
      expect(parser.info.packets).toBe(delivered);
      expect(parser.maxBuffered, `iteration ${i} ${base.name}`).toBeLessThanOrEqual(MAX_BLOCK_LEN + chunk);
      if (parser.info.errors.length) stoppedWithError++;
    }
    // The mutations must actually reach the error paths.
    if (ITERATIONS >= 300) expect(stoppedWithError).toBeGreaterThan(ITERATIONS / 20);
    console.log(`reader fuzz: ${stoppedWithError} stopped with an error, ${openErrors} not a capture`);
  });
});
