import { describe, expect, it } from 'vitest';
import { newFlow } from './table.js';
import { tcpCounters, tcpFinished, tcpPacket, udpConnState, withLetter } from './tcp-state.js';
import type { FlowRecord } from './record.js';

/** The tracker of one stand-alone flow (its state lives in the flow's row). */
class Tracker {
  constructor(private readonly flow: FlowRecord) {}
  packet(dir: 0 | 1, flags: number, seq: number, window: number, len: number, ts: number): void {
    tcpPacket(this.flow, dir, { tcpFlags: flags, tcpSeq: seq, tcpWindow: window, payloadWireLen: len, ts });
  }
  get retransmits() {
    return tcpCounters(this.flow).retransmits;
  }
  get zeroWindows() {
    return tcpCounters(this.flow).zeroWindows;
  }
  get isn() {
    return tcpCounters(this.flow).isn;
  }
  finished(): boolean {
    return tcpFinished(this.flow.c, this.flow.slot);
  }
}

/** One segment: direction (C = originator, s = responder), flags letters, payload length, seq. */
type Seg = [dir: 'C' | 's', flags: string, len?: number, seq?: number];

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16 };

function run(segs: Seg[], history = ''): { flow: FlowRecord; tcp: Tracker } {
  const flow = newFlow('F1', 6, 4, new Uint8Array(4), new Uint8Array(4), 50000, 443, 0);
  flow.history = history;
  const tcp = new Tracker(flow);
  const nextSeq = [1000, 9000];
  segs.forEach(([d, flags, len = 0, seq], i) => {
    const dir = d === 'C' ? 0 : 1;
    let bits = 0;
    for (const ch of flags) bits |= FLAG_BITS[ch];
    const s = seq ?? nextSeq[dir];
    const packets = [...flow.packets] as [number, number];
    const payload = [...flow.payloadBytes] as [number, number];
    packets[dir]++;
    payload[dir] += len;
    flow.packets = packets;
    flow.payloadBytes = payload;
    tcp.packet(dir, bits, s, 65535, len, i * 0.01);
    nextSeq[dir] = s + len + (bits & 2 ? 1 : 0) + (bits & 1 ? 1 : 0);
  });
  return { flow, tcp };
}

describe('conn_state (Zeek conn.zeek rules)', () => {
  const HANDSHAKE: Seg[] = [
    ['C', 'S'],
    ['s', 'SA'],
    ['C', 'A'],
  ];
  const cases: Array<[string, Seg[], string, string?]> = [
    ['S0', [['C', 'S']], 'S'],
    ['S1', HANDSHAKE, 'ShA'],
    [
      'SF',
      [...HANDSHAKE, ['C', 'PA', 100], ['s', 'PA', 200], ['C', 'FA'], ['s', 'FA'], ['C', 'A']],
      'ShADdFf',
    ],
    ['REJ', [['C', 'S'], ['s', 'RA']], 'Sr'],
    ['S2', [...HANDSHAKE, ['C', 'FA']], 'ShAF'],
    ['S3', [...HANDSHAKE, ['s', 'FA']], 'ShAf'],
    ['RSTO', [...HANDSHAKE, ['C', 'PA', 10], ['C', 'R']], 'ShADR'],
    ['RSTR', [...HANDSHAKE, ['s', 'RA']], 'ShAr'],
    ['RSTOS0', [['C', 'S'], ['C', 'R']], 'SR'],
    // The table flips a SYN-ACK-first flow and starts its history with '^'.
    ['RSTRH', [['s', 'SA'], ['s', 'R']], '^hr', '^'],
    ['SH', [['C', 'S'], ['C', 'F']], 'SF'],
    ['SHR', [['s', 'SA'], ['s', 'FA']], '^hf', '^'],
    ['OTH', [['C', 'PA', 50], ['s', 'PA', 60], ['C', 'A']], 'DdA'],
  ];
  for (const [state, segs, history, start] of cases) {
    it(`${state}: ${history}`, () => {
      const { flow } = run(segs, start);
      expect(flow.state).toBe(state);
      expect(flow.history).toBe(history);
    });
  }

  it('FIN then RST from the same side after a full FIN exchange stays SF', () => {
    const { flow } = run([['C', 'S'], ['s', 'SA'], ['C', 'A'], ['C', 'FA'], ['s', 'FA'], ['C', 'R']]);
    expect(flow.state).toBe('SF');
  });

  it('REJ when both sides reset without payload', () => {
    const { flow } = run([['C', 'PA', 0], ['C', 'R'], ['s', 'R']]);
    expect(flow.state).toBe('REJ');
  });

  it('RST after a missed SYN but seen SYN-ACK and ACK is RSTR, not RSTRH', () => {
    const { flow } = run([['s', 'SA'], ['C', 'A'], ['s', 'R']], '^');
    expect(flow.state).toBe('RSTR');
  });

  it('originator RST on a midstream flow with a silent responder is OTH', () => {
    const { flow } = run([['C', 'PA', 10], ['C', 'R']]);
    expect(flow.state).toBe('OTH');
  });

  it('UDP states follow which sides sent', () => {
    const f = newFlow('F1', 17, 4, new Uint8Array(4), new Uint8Array(4), 5000, 53, 0);
    expect(udpConnState(f)).toBe('OTH');
    f.packets = [1, 0];
    expect(udpConnState(f)).toBe('S0');
    expect(f.state).toBe('S0');
    f.packets = [1, 1];
    expect(udpConnState(f)).toBe('SF');
    f.packets = [0, 1];
    expect(udpConnState(f)).toBe('SHR');
  });
});

describe('handshake fields', () => {
  it('counts SYN retransmissions and measures both handshake RTTs from the first SYN and first SYN-ACK', () => {
    const flow = newFlow('F1', 6, 4, new Uint8Array(4), new Uint8Array(4), 50000, 443, 0);
    const tcp = new Tracker(flow);
    tcp.packet(0, 2, 100, 65535, 0, 10.0);
    tcp.packet(0, 2, 100, 65535, 0, 11.0);
    tcp.packet(0, 2, 100, 65535, 0, 13.0);
    tcp.packet(1, 18, 500, 65535, 0, 13.25);
    tcp.packet(1, 18, 500, 65535, 0, 14.25);
    tcp.packet(0, 16, 101, 65535, 0, 14.5);
    tcp.packet(0, 16, 101, 65535, 0, 15);
    expect(flow.synCount).toBe(3);
    expect(flow.synAckCount).toBe(2);
    expect(flow.synToSynAck).toBeCloseTo(3.25, 9);
    expect(flow.synAckToAck).toBeCloseTo(1.25, 9);
    expect(flow.history).toBe('ShA');
    expect(flow.state).toBe('S1');
    expect(tcp.isn).toEqual([100, 500]);
  });

  it('records FIN and RST per direction', () => {
    const { flow } = run([['C', 'S'], ['s', 'SA'], ['C', 'A'], ['s', 'FA'], ['C', 'R']]);
    expect(flow.fin).toEqual([false, true]);
    expect(flow.rst).toEqual([true, false]);
  });

  it('no RTT without the matching earlier packet', () => {
    const { flow } = run([['s', 'SA'], ['C', 'A']], '^');
    expect(flow.synToSynAck).toBeNull();
    expect(flow.synAckToAck).not.toBeNull();
    expect(flow.synCount).toBe(0);
  });
});

describe('history extras', () => {
  it('marks retransmitted payload T/t logarithmically (1, 10, 100 ...)', () => {
    const segs: Seg[] = [['C', 'S', 0, 0], ['s', 'SA', 0, 0], ['C', 'PA', 100, 1]];
    for (let i = 0; i < 10; i++) segs.push(['C', 'PA', 100, 1]);
    segs.push(['s', 'PA', 50, 1], ['s', 'PA', 50, 1]);
    const { flow, tcp } = run(segs);
    expect(tcp.retransmits).toEqual([10, 1]);
    expect(flow.history).toBe('ShDTTdt');
  });

  it('new data after old data is not a retransmission', () => {
    const { tcp } = run([['C', 'S'], ['s', 'SA'], ['C', 'PA', 100], ['C', 'PA', 100], ['C', 'PA', 100]]);
    expect(tcp.retransmits).toEqual([0, 0]);
  });

  it('marks zero-window advertisements W/w', () => {
    const flow = newFlow('F1', 6, 4, new Uint8Array(4), new Uint8Array(4), 50000, 443, 0);
    const tcp = new Tracker(flow);
    tcp.packet(0, 2, 0, 65535, 0, 0);
    tcp.packet(1, 18, 0, 65535, 0, 0);
    tcp.packet(0, 16, 1, 0, 0, 0);
    tcp.packet(1, 16, 1, 0, 0, 0);
    expect(flow.history).toBe('ShAWaw');
    expect(tcp.zeroWindows).toEqual([1, 1]);
  });

  it('SYN+FIN is Q and FIN+RST is I', () => {
    expect(run([['C', 'SF']]).flow.history).toBe('Q');
    expect(run([['C', 'FR']]).flow.history).toBe('I');
  });

  it('finished() after a reset or after both FINs', () => {
    expect(run([['C', 'S'], ['s', 'RA']]).tcp.finished()).toBe(true);
    expect(run([['C', 'S'], ['s', 'SA'], ['C', 'FA']]).tcp.finished()).toBe(false);
    expect(run([['C', 'S'], ['s', 'SA'], ['C', 'FA'], ['s', 'FA']]).tcp.finished()).toBe(true);
  });
});

describe('withLetter', () => {
  it('appends a letter, from the cache or not', () => {
    expect(withLetter('Sh', 'A')).toBe('ShA');
    expect(withLetter('', 'S')).toBe('S');
    expect(withLetter(withLetter(withLetter('', 'S'), 'h'), 'A')).toBe('ShA');
    expect(withLetter(withLetter(withLetter('', 'S'), 'h'), 'A')).toBe('ShA');
    expect(withLetter('Sh', 'a')).toBe('Sha');
  });

  it('stays correct past the cache bound', () => {
    let h = '';
    for (let i = 0; i < 5000; i++) expect(withLetter(`x${i}`, 'D')).toBe(`x${i}D`);
    for (const c of 'ShADadFf') h = withLetter(h, c);
    expect(h).toBe('ShADadFf');
  });
});
