import { describe, expect, it } from 'vitest';
import { seededRandom } from '../synth/random.js';
import { makeFlow } from '../classify/test-flows.js';
import { protoName, type Flow } from '../flow/flow.js';
import { sanitizeText } from './sanitize.js';
import { isoTime, round } from './build.js';
import type { ReportFlow } from './schema.js';
import { flowNumber, ReportFlowStore, withStoredFlows } from './flow-store.js';

/** The report flow written out field by field, as the contract orders it: the oracle. */
function expected(f: Flow): ReportFlow {
  const rtt = f.synToSynAck;
  const tls = f.tls;
  return {
    uid: f.uid,
    proto: protoName(f.proto),
    client: { ip: f.clientIp, port: f.clientPort },
    server: { ip: f.serverIp, port: f.serverPort },
    firstSeen: isoTime(f.firstTs),
    lastSeen: isoTime(f.lastTs),
    packets: { client: f.packets[0], server: f.packets[1] },
    bytes: { client: f.bytes[0], server: f.bytes[1] },
    state: f.state,
    sni: tls?.sni != null ? sanitizeText(tls.sni) : null,
    dnsName: f.dnsName != null ? sanitizeText(f.dnsName) : null,
    class: f.cls ?? 'other',
    service: f.service,
    edge: f.edge,
    classifiedBy: [...f.classifiedBy],
    history: f.proto === 6 ? f.history : null,
    clientType: f.clientType,
    alpn: tls?.alpn ? tls.alpn.map((a) => sanitizeText(a)) : null,
    tlsVersion: tls?.version ?? null,
    handshakeRttMs: rtt != null ? round(rtt * 1000) : null,
    firstFrame: f.firstFrame,
    conflicts: [...f.conflicts],
    notes: f.notes.map((n) => sanitizeText(n, 500)),
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];

/** Flows with every field varied: addresses of both families and odd texts, nulls and lists. */
function variedFlows(n: number, seed: number): Flow[] {
  const rand = seededRandom(seed);
  const flows: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = rand() < 0.2;
    const client = v6 ? pick(rand, ['2001:db8::1', 'fe80::2', '::ffff:10.0.0.1']) : `10.${i % 256}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
    const server = v6 ? '2001:db8::53' : pick(rand, ['198.51.100.7', '0.0.0.0', '255.255.255.255', '34.6.223.180']);
    const proto = pick(rand, ['tcp', 'udp', 1, 47] as const);
    const sni = rand() < 0.4 ? pick(rand, ['eventgw.twilio.com', 'a\u001b[2J.example', 'x\u202eevil.com']) : undefined;
    const flow = makeFlow({ proto, client, server, serverPort: Math.floor(rand() * 65536), clientPort: Math.floor(rand() * 65536), sni, dnsName: rand() < 0.3 ? 'b\u0000.example' : undefined, firstTs: 1_767_225_600 + rand() * 300 }, pick(rand, [`F${i + 1}`, `F${i + 1}`, 'F0', 'F007', 'G12', 'F', `F${2 ** 32}`, 'F4294967295']));
    flow.packets = [Math.floor(rand() * 1e6), Math.floor(rand() * 10)];
    flow.bytes = [Math.floor(rand() * 1e12), 0];
    flow.firstFrame = Math.floor(rand() * 4e9);
    flow.state = pick(rand, ['SF', 'S0', 'OTH', 'RSTO']);
    flow.synToSynAck = rand() < 0.5 ? rand() * 0.3 : null;
    flow.cls = pick(rand, [null, 'twilio-media', 'spoke-signalling', 'other'] as const);
    flow.service = rand() < 0.5 ? 'eventgw' : null;
    flow.edge = rand() < 0.3 ? 'ashburn' : null;
    flow.clientType = pick(rand, [null, 'desktop', 'mobile'] as const);
    flow.classifiedBy = pick(rand, [[], ['sni'], ['sni', 'port'], ['cidr', 'dns', 'port']]);
    flow.conflicts = rand() < 0.2 ? ['cidr:twilio-media(us1)'] : [];
    flow.notes = pick(rand, [[], ['plain note'], ['bell \u0007', `${'n'.repeat(480)}\u001b[2J${'m'.repeat(100)}`], [`the first packet seen came from ${client}`]]);
    if (flow.tls) {
      flow.tls.alpn = pick(rand, [null, [], ['h2', 'http/1.1'], ['x\u0001']]);
      flow.tls.version = rand() < 0.5 ? 'TLS 1.3' : null;
    }
    flows.push(flow);
  }
  return flows;
}

describe('ReportFlowStore', () => {
  it('gives back each flow as the contract writes it, field order included', () => {
    const flows = variedFlows(2500, 11);
    const store = new ReportFlowStore();
    for (const f of flows) store.add(f);
    expect(store.length).toBe(flows.length);
    const got = store.toArray();
    expect(got.length).toBe(flows.length);
    for (let i = 0; i < flows.length; i++) expect(JSON.stringify(got[i])).toBe(JSON.stringify(expected(flows[i])));
  });

  it('keeps every row across its chunks of rows', () => {
    const flow = makeFlow({ proto: 'udp', client: '10.1.2.15', server: '198.51.100.7', serverPort: 3478 });
    const store = new ReportFlowStore();
    for (let i = 0; i < 9000; i++) {
      flow.firstFrame = i;
      flow.uid = `F${i + 1}`;
      store.add(flow);
    }
    const got = store.toArray();
    expect(got.length).toBe(9000);
    for (let i = 0; i < 9000; i++) expect([got[i].uid, got[i].firstFrame]).toEqual([`F${i + 1}`, i]);
  });

  it('keeps what a flow said when it was added, and gives each report flow its own arrays', () => {
    const flow = makeFlow({ client: '10.1.2.15', server: '198.51.100.7', serverPort: 443, sni: 'a.example' });
    flow.notes.push('first');
    flow.classifiedBy.push('sni');
    const store = new ReportFlowStore();
    store.add(flow);
    store.add(flow);
    flow.notes.push('later');
    flow.classifiedBy.push('port');
    const [a, b] = store.toArray();
    expect(a.notes).toEqual(['first']);
    expect(a.classifiedBy).toEqual(['sni']);
    a.notes.push('mutated');
    expect(b.notes).toEqual(['first']);
    expect(store.toArray()[1].notes).toEqual(['first']);
  });
});

describe('withStoredFlows', () => {
  const report = (store: ReportFlowStore) => withStoredFlows({ before: 1, flows: [] as ReportFlow[], after: 2 }, store);

  it('makes the flows on first read, keeps them, and serialises them in place', () => {
    const flows = variedFlows(3, 5);
    const store = new ReportFlowStore();
    for (const f of flows) store.add(f);
    const r = report(store);
    const first = r.flows;
    expect(r.flows).toBe(first);
    expect(Object.keys(r)).toEqual(['before', 'flows', 'after']);
    expect(JSON.stringify(r)).toBe(JSON.stringify({ before: 1, flows: flows.map(expected), after: 2 }));
  });

  it('takes an assigned array like a plain property', () => {
    const r = report(new ReportFlowStore());
    expect(r.flows).toEqual([]);
    r.flows = [expected(variedFlows(1, 3)[0])];
    expect(r.flows.length).toBe(1);
  });
});


describe('flowNumber', () => {
  it('reads "F<n>" as the flow table writes it and refuses every other text', () => {
    expect(flowNumber('F0')).toBe(0);
    expect(flowNumber('F308')).toBe(308);
    expect(flowNumber('F4294967295')).toBe(4294967295);
    for (const bad of ['', 'F', 'F007', 'f1', 'G1', 'F1a', 'F-1', 'F4294967296', 'F99999999999']) expect(flowNumber(bad), bad).toBe(-1);
  });
});
