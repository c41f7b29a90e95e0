/** Flows built by hand for classifier tests (the flow table builds real ones). */
import type { Flow } from '../flow/flow.js';
import { newTlsInfo } from '../flow/flow.js';
import { parseIp } from '../policy/match.js';

export interface FlowSpec {
  proto?: 'tcp' | 'udp' | number;
  client: string;
  clientPort?: number;
  server: string;
  serverPort: number;
  sni?: string;
  dnsName?: string;
  nrbName?: string;
  tags?: string[];
  /** DNS messages were read from the payload (Flow.dnsPayload). */
  dnsPayload?: boolean;
  firstTs?: number;
  /** TCP flows default to a seen SYN. */
  synCount?: number;
}

export function makeFlow(spec: FlowSpec, uid = 'F1'): Flow {
  const proto = spec.proto === undefined || spec.proto === 'tcp' ? 6 : spec.proto === 'udp' ? 17 : spec.proto;
  const clientAddr = parseIp(spec.client);
  const serverAddr = parseIp(spec.server);
  if (!clientAddr || !serverAddr) throw new Error(`bad address in ${JSON.stringify(spec)}`);
  const tls = spec.sni === undefined ? null : { ...newTlsInfo(false), sni: spec.sni };
  const firstTs = spec.firstTs ?? 1000;
  return {
    uid,
    proto,
    ipVersion: clientAddr.length === 4 ? 4 : 6,
    clientIp: spec.client,
    serverIp: spec.server,
    clientPort: spec.clientPort ?? 50000,
    serverPort: spec.serverPort,
    clientAddr,
    serverAddr,
    firstTs,
    lastTs: firstTs + 1,
    firstFrame: 1,
    lastFrame: 2,
    packets: [1, 1],
    bytes: [100, 100],
    payloadBytes: [50, 50],
    dirFirstTs: [firstTs, firstTs + 0.01],
    frames: [1, 2],
    history: proto === 6 ? 'ShAD' : 'Dd',
    state: 'SF',
    synCount: spec.synCount ?? (proto === 6 ? 1 : 0),
    synAckCount: proto === 6 ? 1 : 0,
    synToSynAck: null,
    synAckToAck: null,
    synTs: null,
    synAckTs: null,
    midstream: false,
    rst: [false, false],
    fin: [false, false],
    icmpErrors: [],
    tls,
    dnsName: spec.dnsName ?? spec.nrbName ?? null,
    dnsNameSource: spec.dnsName !== undefined ? 'dns' : spec.nrbName !== undefined ? 'nrb' : null,
    cls: null,
    service: null,
    edge: null,
    clientType: null,
    classifiedBy: [],
    conflicts: [],
    families: [],
    tags: new Set(spec.tags ?? []),
    dnsPayload: spec.dnsPayload ?? false,
    notes: [],
    evicted: false,
  };
}
