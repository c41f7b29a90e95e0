/** Shared by the capture tests: the public fixture list and a parse-to-records helper. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CaptureParser } from '../src/capture/parser.js';
import type { SourceInfo } from '../src/capture/types.js';

export const FIXTURE_DIR = join(import.meta.dirname, 'fixtures', 'public');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return walk(p);
      return /\.(pcap|pcapng)$/.test(name) ? [p] : [];
    });
}

/** Every public capture, as [name relative to the fixture dir, absolute path]. */
export const FIXTURES: Array<[string, string]> = walk(FIXTURE_DIR).map((p) => [relative(FIXTURE_DIR, p), p]);

export interface PacketRecord {
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origLen: number;
  linkType: number;
  interfaceId: number;
  offset: number;
  comment: string | null;
  /** sha1 of the packet bytes */
  digest: string;
}

/** Parse bytes fed in `chunkSize` slices; returns one record per packet and the final info. */
export function parseBytes(bytes: Uint8Array, chunkSize = bytes.length || 1, path = 'mem'): { packets: PacketRecord[]; info: SourceInfo } {
  const packets: PacketRecord[] = [];
  const parser = new CaptureParser(path, (p) => {
    if (p.data.length !== p.caplen) throw new Error(`data.length ${p.data.length} != caplen ${p.caplen}`);
    packets.push({
      tsSec: p.tsSec,
      tsNsec: p.tsNsec,
      caplen: p.caplen,
      origLen: p.origLen,
      linkType: p.linkType,
      interfaceId: p.interfaceId,
      offset: p.offset,
      comment: p.comment,
      digest: createHash('sha1').update(p.data).digest('hex'),
    });
  });
  for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize));
  parser.end();
  return { packets, info: parser.info };
}

export function parseFile(path: string, chunkSize?: number): { packets: PacketRecord[]; info: SourceInfo } {
  return parseBytes(readFileSync(path), chunkSize, path);
}
