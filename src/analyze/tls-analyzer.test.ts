import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tcpPacket, tlsAlert, tlsAppData, tlsClientHello, tlsServerHello } from '../synth/packets.js';
import { buildPcap, type WrittenPacket } from '../synth/pcap-writer.js';
import { runAnalyzers } from '../../test/helpers/mini-flows.js';
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import { certificate, certificateRecord } from '../../test/helpers/tls-certificate.js';
import { TlsAnalyzer } from './tls-analyzer.js';
import { TCP_SYN } from '../decode/view.js';
import * as slots from './tcp-slots.js';

const dir = mkdtempSync(join(tmpdir(), 'spokecap-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const C = '10.0.0.5';
const S = '54.172.60.1';
const ISN_C = 0xfffffff0; // wraps during the handshake
const ISN_S = 5000;

/** A TCP connection: handshake, then client/server segments given as [fromClient, bytes]. */
function connection(segments: Array<[boolean, Uint8Array]>, sport = 50000, dport = 443): WrittenPacket[] {
  let ts = 1_700_000_000;
  const out: WrittenPacket[] = [];
  const add = (fromClient: boolean, flags: string, seq: number, payload?: Uint8Array) =>
    out.push({
      ts: (ts += 0.01),
      data: fromClient
        ? tcpPacket(C, S, { sport, dport, seq, flags }, payload)
        : tcpPacket(S, C, { sport: dport, dport: sport, seq, flags }, payload),
    });
  add(true, 'S', ISN_C);
  add(false, 'SA', ISN_S);
  add(true, 'A', ISN_C + 1);
  let cs = (ISN_C + 1) >>> 0;
  let ss = ISN_S + 1;
  for (const [fromClient, data] of segments) {
    if (fromClient) {
      add(true, 'PA', cs, data);
      cs = (cs + data.length) >>> 0;
    } else {
      add(false, 'PA', ss, data);
      ss += data.length;
    }
  }
  return out;
}

async function run(packets: WrittenPacket[], name: string, analyzer = new TlsAnalyzer()) {
  const path = join(dir, `${name}.pcap`);
  writeFileSync(path, buildPcap(packets));
  const r = await runAnalyzers(path, [analyzer]);
  return { ...r, analyzer };
}

describe('TlsAnalyzer', () => {
  it('fills flow.tls from a ClientHello split over segments, then the ServerHello', async () => {
    const ch = tlsClientHello('chunderw-vpc-gll.twilio.com', ['h2']);
    const { flows } = await run(
      connection([
        [true, ch.subarray(0, 20)],
        [true, ch.subarray(20, 50)],
        [true, ch.subarray(50)],
        [false, tlsServerHello()],
      ]),
      'split',
    );
    expect(flows).toHaveLength(1);
    const tls = flows[0].tls!;
    expect(tls).toMatchObject({ sni: 'chunderw-vpc-gll.twilio.com', alpn: ['h2'], clientHelloFrame: 6, version: 'TLS 1.2', serverHelloFrame: 7, dtls: false });
  });

  it('reads records cut by segment ends in both directions, with another connection in between', async () => {
    const ch = tlsClientHello('cut.example', ['h2']);
    const sh = tlsServerHello();
    const cut = connection([
      [true, ch.subarray(0, 2)], // not even the record header: the TLS decision waits for 3 bytes
      [true, ch.subarray(2, 9)],
      [true, ch.subarray(9)],
      [false, sh.subarray(0, 4)],
      [false, sh.subarray(4, 30)],
      [false, sh.subarray(30)],
    ]);
    const whole = connection([[true, tlsClientHello('whole.example')], [false, tlsServerHello()], [true, tlsAlert(1, 0)]], 50100);
    // Alternate the two connections packet by packet (times in order).
    const packets = cut.flatMap((p, i) => [p, ...(whole[i] ? [whole[i]] : [])]).map((p, i) => ({ ...p, ts: 1_700_000_000 + i / 100 }));
    const { flows, weirds } = await run(packets, 'cut');
    const byPort = new Map(flows.map((f) => [f.clientPort, f.tls]));
    expect(byPort.get(50000)).toMatchObject({ sni: 'cut.example', alpn: ['h2'], clientHelloFrame: 11, version: 'TLS 1.2', serverHelloFrame: 15, alerts: [] });
    expect(byPort.get(50100)).toMatchObject({ sni: 'whole.example', alpn: null, clientHelloFrame: 8, version: 'TLS 1.2', serverHelloFrame: 10 });
    expect(byPort.get(50100)!.alerts).toEqual([{ frame: 12, fromClient: true, level: 1, description: 0 }]);
    expect(weirds).toEqual({});
  });

  it('holds no buffer while a connection idles after its hellos; connections share SNI and ALPN', async () => {
    const idle: boolean[] = [];
    /** After each packet: are both directions parked as numbers (the state is a bare slot: no object, no buffer)? */
    const probe: Analyzer = {
      name: 'probe',
      onPacket(ctx: PacketContext) {
        const st = ctx.flow?.tlsState;
        if (st !== undefined) idle.push(typeof st === 'number');
      },
    };
    const path = join(dir, 'idle.pcap');
    const hellos = (): Array<[boolean, Uint8Array]> => [
      [true, tlsClientHello('app.spokephone.com', ['h2', 'http/1.1'])],
      [false, tlsServerHello()],
    ];
    writeFileSync(path, buildPcap([...connection(hellos(), 50010), ...connection(hellos(), 50011)]));
    const { flows } = await runAnalyzers(path, [new TlsAnalyzer(), probe]);
    expect(idle.length).toBeGreaterThan(0);
    expect(idle.every(Boolean)).toBe(true);
    const [a, b] = flows.map((f) => f.tls!);
    expect(a.alpn).toEqual(['h2', 'http/1.1']);
    expect(b.alpn).toBe(a.alpn);
    expect(Object.isFrozen(a.alpn)).toBe(true);
    expect(a.alerts).toEqual([]);
    expect(b.sni).toBe('app.spokephone.com');
  });

  it('still records an alert after the hellos (a client rejecting the certificate)', async () => {
    const { flows } = await run(
      connection([
        [true, tlsClientHello('intercepted.example')],
        [false, tlsServerHello()],
        [true, tlsAlert(2, 48)],
      ]),
      'late-alert',
    );
    expect(flows[0].tls!.serverHelloFrame).toBe(5);
    expect(flows[0].tls!.alerts).toEqual([{ frame: 6, fromClient: true, level: 2, description: 48 }]);
  });

  it('gives the same result however the streams are cut into segments, in order or swapped in pairs', async () => {
    const client = tlsClientHello('chunks.example', ['h2', 'http/1.1']);
    const server = Uint8Array.from([...tlsServerHello(), ...tlsAlert(1, 90), ...tlsAlert(2, 40)]);
    const cutInto = (b: Uint8Array, size: number): Uint8Array[] => {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
      return parts;
    };
    for (const size of [1, 2, 5, 7, 321]) {
      for (const swap of [false, true]) {
        const fromClient = cutInto(client, size).map((p): [boolean, Uint8Array] => [true, p]);
        const fromServer = cutInto(server, size).map((p): [boolean, Uint8Array] => [false, p]);
        const pkts = connection([...fromClient, ...fromServer]);
        // Swap neighbours within each direction (the server still answers after the client's last segment).
        const swapPairs = (from: number, to: number) => {
          for (let i = from; i + 1 < to; i += 2) [pkts[i], pkts[i + 1]] = [pkts[i + 1], pkts[i]];
        };
        if (swap) {
          swapPairs(3, 3 + fromClient.length);
          swapPairs(3 + fromClient.length, pkts.length);
        }
        const { flows, weirds } = await run(pkts, `chunks-${size}-${swap}`);
        const tls = flows[0].tls!;
        const label = `${size} bytes${swap ? ', swapped' : ''}`;
        expect({ sni: tls.sni, alpn: tls.alpn, version: tls.version }, label).toEqual({ sni: 'chunks.example', alpn: ['h2', 'http/1.1'], version: 'TLS 1.2' });
        expect(tls.alerts.map((a) => [a.fromClient, a.level, a.description]), label).toEqual([[false, 1, 90], [false, 2, 40]]);
        expect(weirds, label).toEqual({});
      }
    }
  });

  it('reads a TLS 1.2 certificate and alerts arriving while other connections come and go (slots reused)', async () => {
    const cert = certificateRecord(certificate('late.example', 'Example CA', ['late.example', '*.late.example']));
    const analyzer = new TlsAnalyzer();
    // Connection 50200 parks after its hellos; short ones open and finish (their slots freed and reused) before its certificate and alerts come.
    const waiting = connection(
      [
        [true, tlsClientHello('late.example', ['h2'])],
        [false, tlsServerHello()],
        [false, cert.subarray(0, 40)],
        [false, cert.subarray(40)],
        [true, tlsAlert(2, 42)],
      ],
      50200,
    );
    const shortOnes = [50201, 50202, 50203].map((port) =>
      connection([[true, tlsClientHello(`s${port}.example`)], [false, tlsServerHello()], [true, tlsAppData(10)], [false, tlsAppData(10)]], port),
    );
    const packets = [...waiting.slice(0, 5), ...shortOnes.flat(), ...waiting.slice(5)].map((p, i) => ({ ...p, ts: 1_700_000_000 + i / 100 }));
    const { flows, weirds } = await run(packets, 'late-cert', analyzer);
    const tls = flows.find((f) => f.clientPort === 50200)!.tls!;
    expect(tls).toMatchObject({ sni: 'late.example', alpn: ['h2'], version: 'TLS 1.2', serverHelloFrame: 5, certIssuer: 'CN=Example CA' });
    expect(tls.certSubject).toContain('CN=late.example');
    expect(tls.certSans).toEqual(['late.example', '*.late.example']);
    expect(tls.alerts).toEqual([{ frame: 29, fromClient: true, level: 2, description: 42 }]);
    for (const port of [50201, 50202, 50203]) expect(flows.find((f) => f.clientPort === port)!.tls!.sni).toBe(`s${port}.example`);
    expect(weirds).toEqual({});
    expect(analyzer.tcpConnections).toBe(0); // the short ones finished; the flow end gave back the last slot
  });

  it('reassembles segments that arrive out of order', async () => {
    const ch = tlsClientHello('ooo.example');
    const pkts = connection([
      [true, ch.subarray(0, 30)],
      [true, ch.subarray(30)],
    ]);
    [pkts[3], pkts[4]] = [pkts[4], pkts[3]];
    const { flows } = await run(pkts, 'ooo');
    expect(flows[0].tls!.sni).toBe('ooo.example');
    expect(flows[0].tls!.clientHelloFrame).toBe(5);
  });

  it('records alerts with their direction, on any port', async () => {
    const { flows } = await run(connection([[true, tlsClientHello('x.example')], [false, tlsAlert(2, 40)]], 50001, 8443), 'alert');
    expect(flows[0].tls!.alerts).toEqual([{ frame: 5, fromClient: false, level: 2, description: 40 }]);
    expect(flows[0].tls!.serverHelloFrame).toBeNull();
  });

  it('leaves non-TLS connections alone and frees their buffers', async () => {
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    const analyzer = new TlsAnalyzer();
    const { flows } = await run(connection([[true, http], [false, Buffer.from('HTTP/1.1 200 OK\r\n\r\n')]], 50002, 443), 'http', analyzer);
    expect(flows[0].tls).toBeNull();
    const smtp = await run(connection([[false, Buffer.from('220 mail\r\n')], [true, tlsClientHello('late.example')]], 50003, 25), 'smtp');
    expect(smtp.flows[0].tls).toBeNull();
  });

  it('counts reassembly evictions under a tiny memory bound', async () => {
    const analyzer = new TlsAnalyzer({ maxBufferedBytes: 100 });
    const ch = tlsClientHello('big.example');
    const pkts = connection([
      [true, ch.subarray(0, 10)],
      [true, ch.subarray(10)],
    ]);
    [pkts[3], pkts[4]] = [pkts[4], pkts[3]]; // the tail waits in a buffer bigger than the bound
    const { flows } = await run(pkts, 'evict', analyzer);
    expect(analyzer.evictions).toBeGreaterThan(0);
    expect(flows[0].tls?.sni ?? null).toBeNull();
  });
});

describe('hot path literals', () => {
  it('repeat the slot layout of tcp-slots.ts and the flag bits exactly', () => {
    const source = readFileSync(new URL('./tls-analyzer.ts', import.meta.url), 'utf8');
    const named: Record<string, number> = {
      CHUNK_SHIFT: slots.CHUNK_SHIFT,
      CHUNK_SLOTS: slots.CHUNK_SLOTS,
      SLOT_WORDS: slots.SLOT_WORDS,
      TCP_SYN,
      TLS: 1,
      CLIENT_SEEN: 2,
      CLIENT_OVER: 8,
      SERVER_OVER: 16,
    };
    const literals = [...source.matchAll(/\b([A-Z][A-Z0-9_]*) = (0x[0-9a-f]+|\d+)[,;]/g)].filter(([, name]) => name in named);
    expect(new Set(literals.map(([, name]) => name))).toEqual(new Set(Object.keys(named)));
    for (const [, name, value] of literals) expect([name, Number(value)]).toEqual([name, named[name]]);
    // The analyzer writes the layout tcp-slots.ts describes (and TcpSlots.alloc zeroes): flags word first, then three words per direction.
    expect([slots.SLOT_FLAGS, slots.SLOT_DIR, slots.SLOT_WORDS]).toEqual([0, 1, 7]);
  });
});
