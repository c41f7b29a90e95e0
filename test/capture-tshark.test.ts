/**
 * Differential test against tshark/capinfos (the oracle): packet counts, where
 * reading stops on broken files, and per-packet caplen, wire length and timestamp.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, parseFile } from './capture-fixtures.js';

const run = promisify(execFile);

interface TsharkFrame {
  interfaceId: string;
  time: string;
  caplen: number;
  len: number;
}

interface CapinfosResult {
  count: number;
  /** capinfos stopped with an error about the file (cut short, unsupported record...). */
  fileError: string | null;
}

/** capinfos is fast (no dissection), so it gives the count for every fixture. */
async function capinfos(path: string): Promise<CapinfosResult> {
  const out = await run('capinfos', ['-c', '-M', path]).catch((e) => e as { stdout: string; stderr: string });
  const after = /An error occurred after reading (\d+) packets/.exec(out.stderr);
  const count = after ? after[1] : /Number of packets:\s+(\d+)/.exec(out.stdout)?.[1];
  if (count === undefined) throw new Error(`capinfos gave no count for ${path}: ${out.stderr}`);
  return { count: Number(count), fileError: after ? out.stderr.trim() : null };
}

/** tshark (slow to start) gives per-packet fields for a subset covering every format and the broken files. */
async function tsharkFrames(path: string): Promise<TsharkFrame[]> {
  const fields = ['frame.interface_id', 'frame.time_epoch', 'frame.cap_len', 'frame.len'];
  const args = ['-r', path, '-n', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])];
  const out = await run('tshark', args, { maxBuffer: 64 << 20 }).catch((e) => e as { stdout: string });
  return out.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [interfaceId, time, caplen, len] = l.split('\t');
      return { interfaceId, time, caplen: Number(caplen), len: Number(len) };
    });
}

const PER_PACKET = /^(malformed|pcapng|pcap-format|linktypes)\/|rtp\/voipshark_SIP-RTP|vpn\/gre\/pcpp_GrePackets|rtp\/ndpi_rtp/;

/** Run `fn` over items with at most `width` in flight. */
async function pool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

const counts = new Map<string, CapinfosResult>();
const frames = new Map<string, TsharkFrame[]>();

beforeAll(async () => {
  const all = await pool(FIXTURES, 4, ([, path]) => capinfos(path));
  FIXTURES.forEach(([name], i) => counts.set(name, all[i]));
  const subset = FIXTURES.filter(([name]) => PER_PACKET.test(name));
  const per = await pool(subset, 4, ([, path]) => tsharkFrames(path));
  subset.forEach(([name], i) => frames.set(name, per[i]));
});

function epoch(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

describe('reader agrees with capinfos and tshark', () => {
  it('compares per packet on a subset of every kind', () => {
    expect(frames.size).toBeGreaterThan(25);
  });
  for (const [name, path] of FIXTURES) {
    it(name, () => {
      const oracle = counts.get(name)!;
      const { packets, info } = parseFile(path);
      expect(packets.length).toBe(oracle.count);
      if (oracle.fileError) {
        expect(info.truncated, oracle.fileError).toBe(true);
        expect(info.errors.length).toBeGreaterThan(0);
      } else {
        expect(info.errors).toEqual([]);
        expect(info.truncated).toBe(false);
      }

      const all = frames.get(name);
      if (!all) return;
      // tshark shows pcapng custom blocks as frames without an interface; they are not packets.
      const tf = info.format === 'pcapng' ? all.filter((f) => f.interfaceId !== '') : all;
      expect(packets.length).toBe(tf.length);
      packets.forEach((p, i) => {
        const f = tf[i];
        expect([i, p.caplen, p.origLen]).toEqual([i, f.caplen, f.len]);
        // SPBs carry no timestamp; invalid sub-second fields (>= 1 s) are clamped by us, printed raw by tshark.
        if (/^\d+\.\d{9}$/.test(f.time)) expect([i, epoch(p.tsSec, p.tsNsec)]).toEqual([i, f.time]);
      });
    });
  }
});
