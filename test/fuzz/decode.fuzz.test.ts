/**
 * Mutation fuzz of the packet decoders: packets from every public capture
 * with bytes flipped, cut short, and length/offset fields overwritten with
 * edge values. Decoding must never throw and every offset the view exposes
 * must stay inside the buffer. Inner payloads are also fed to decodeAt.
 *
 * FUZZ_ITERATIONS (default 20000) mutated packets; FUZZ_SEED picks the run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type InnerKind, decodeAt, decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/view.js';
import { FIXTURES } from '../capture-fixtures.js';
import { viewBoundsViolation } from '../helpers/decode.js';
import { type LoadedPacket, loadPackets } from '../helpers/walk.js';
import { seededRandom } from '../../src/synth/random.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const KINDS: InnerKind[] = ['ethernet', 'ipv4', 'ipv6', 'ip', 'ppp'];
const EDGE_16 = [0, 1, 4, 7, 8, 19, 20, 39, 40, 0x7fff, 0xfffe, 0xffff];

let corpus: LoadedPacket[] = [];

beforeAll(async () => {
  for (const [, path] of FIXTURES) corpus.push(...(await loadPackets(path)));
  corpus = corpus.filter((p) => p.data.length > 0);
});

describe('decoder fuzz', () => {
  it(`survives ${ITERATIONS} mutated packets (seed ${SEED})`, () => {
    const rand = seededRandom(SEED);
    const pick = (n: number) => Math.floor(rand() * n);
    const view = new PacketView();
    const inner = new PacketView();
    const failures: string[] = [];
    for (let i = 0; i < ITERATIONS && failures.length < 5; i++) {
      const src = corpus[pick(corpus.length)];
      let data = src.data.slice();
      // Decode the original to learn where its header fields sit.
      decodePacket(view, data, src.linkType);
      const fields = [view.ipOff, view.ipOff + 2, view.ipOff + 4, view.l4Off + 4, view.l4Off + 12, view.ipOff + view.ipHeaderLen + 1];
      const mutations = 1 + pick(3);
      for (let m = 0; m < mutations; m++) {
        const kind = pick(4);
        if (kind === 0) {
          data[pick(data.length)] ^= 1 << pick(8);
        } else if (kind === 1) {
          data = data.subarray(0, pick(data.length + 1));
        } else if (kind === 2) {
          const at = fields[pick(fields.length)];
          const v = EDGE_16[pick(EDGE_16.length)];
          if (at + 1 < data.length) {
            data[at] = v >> 8;
            data[at + 1] = v & 0xff;
          }
        } else {
          // Headers live near the start: hit them harder.
          if (data.length > 0) data[pick(Math.min(data.length, 96))] = pick(256);
        }
      }
      const linkType = rand() < 0.05 ? pick(300) : src.linkType;
      try {
        decodePacket(view, data, linkType);
        let bad = viewBoundsViolation(view);
        if (bad === null && view.payloadLen > 0) {
          decodeAt(inner, data, view.payloadOff, view.payloadOff + view.payloadLen, KINDS[pick(KINDS.length)]);
          bad = viewBoundsViolation(inner);
        }
        if (bad !== null) failures.push(`#${i} lt ${linkType} ${bad}: ${Buffer.from(data).toString('hex')}`);
      } catch (err) {
        failures.push(`#${i} lt ${linkType} threw ${(err as Error).message}: ${Buffer.from(data).toString('hex')}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
