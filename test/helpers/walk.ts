/** Load every packet of a capture into memory (copies: the reader's views are only valid per packet). */
import { readCapture } from '../../src/capture/read.js';

export interface LoadedPacket {
  data: Uint8Array;
  origLen: number;
  linkType: number;
}

export async function loadPackets(path: string): Promise<LoadedPacket[]> {
  const packets: LoadedPacket[] = [];
  await readCapture(path, (p) => packets.push({ data: p.data.slice(), origLen: p.origLen, linkType: p.linkType }));
  return packets;
}
