import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildPcap } from '../synth/pcap-writer.js';
import { readCapture } from './read.js';
import { CaptureOpenError } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'spokecap-read-'));
const packets = Array.from({ length: 2000 }, (_, i) => ({ ts: 1_700_000_000 + i / 50, data: new Uint8Array(200).fill(i & 0xff) }));
const pcap = buildPcap(packets);

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function count(path: string, opts = {}) {
  let n = 0;
  let wrongBytes = 0;
  const firstBytes: number[] = [];
  const info = await readCapture(path, (p) => {
    firstBytes.push(p.data[0]);
    // Packet i is 200 bytes of i & 0xff: a read buffer reused too early shows up here.
    for (const b of p.data) if (b !== (n & 0xff)) wrongBytes++;
    n++;
  }, opts);
  return { n, info, firstBytes, wrongBytes };
}

describe('readCapture', () => {
  it('streams a file in small chunks and reports progress against the file size', async () => {
    const path = file('a.pcap', pcap);
    const progress: Array<[number, number | null]> = [];
    const { n, info, firstBytes, wrongBytes } = await count(path, { chunkSize: 4096, onProgress: (r: number, t: number | null) => progress.push([r, t]) });
    expect(n).toBe(2000);
    expect(firstBytes.slice(0, 3)).toEqual([0, 1, 2]);
    expect(wrongBytes).toBe(0);
    expect(info).toMatchObject({ path, format: 'pcap', gzip: false, packets: 2000, bytes: pcap.length, truncated: false });
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)).toEqual([pcap.length, pcap.length]);
  });

  it('detects gzip by its magic, whatever the name', async () => {
    const path = file('gz-without-extension.pcap', gzipSync(pcap));
    const { n, info, wrongBytes } = await count(path, { chunkSize: 1000 });
    expect(n).toBe(2000);
    expect(wrongBytes).toBe(0);
    expect(info).toMatchObject({ gzip: true, bytes: pcap.length, errors: [] });
  });

  it('keeps the packets before a corrupt gzip stream and reports an error', async () => {
    const gz = gzipSync(pcap);
    const path = file('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const { n, info } = await count(path, { chunkSize: 1000 });
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(2000);
    expect(info.truncated).toBe(true);
    expect(info.errors).toEqual([{ offset: expect.any(Number), message: expect.stringMatching(/gzip stream is corrupt/) }]);
  });

  it('gives a one-sentence CaptureOpenError for a missing file, a directory and a text file', async () => {
    await expect(readCapture(join(dir, 'nope.pcap'), () => {})).rejects.toThrow(
      new CaptureOpenError(`cannot read capture ${join(dir, 'nope.pcap')}: no such file: check the path`, join(dir, 'nope.pcap')),
    );
    await expect(readCapture(dir, () => {})).rejects.toThrow(/it is a directory/);
    await expect(readCapture(file('x.txt', Buffer.from('<html>hello')), () => {})).rejects.toThrow(
      /x\.txt is not a pcap or pcapng file \(starts with 3c 68 74 6d\): export it from Wireshark as pcapng/,
    );
    await expect(readCapture(file('empty.pcap', new Uint8Array(0)), () => {})).rejects.toThrow(CaptureOpenError);
  });

  it('stops when the signal aborts, without a truncation error', async () => {
    const path = file('abort.pcap', pcap);
    const ac = new AbortController();
    let n = 0;
    const info = await readCapture(path, () => {
      if (++n === 10) ac.abort();
    }, { chunkSize: 4096, signal: ac.signal });
    expect(n).toBeLessThan(2000);
    expect(info.errors).toEqual([]);
    expect(info.truncated).toBe(false);
    expect(info.warnings).toEqual([expect.stringMatching(/stopped on request/)]);
  });
});
