/**
 * Differential test: every server name tshark finds in a TLS or DTLS
 * ClientHello of any public capture is found by our TlsAnalyzer on the same
 * 5-tuple, in the same frame (the first ClientHello of each connection), and
 * we find no name tshark does not.
 *
 * Left out, on purpose: TLS carried inside another protocol that tshark
 * dissects and we do not (RDP-UDP's tunnelled TLS, tunnels with an inner IP
 * header), which belong to other analyzers.
 *
 * tshark takes about a second per file, so it only reads the captures whose
 * bytes contain a TLS handshake record header followed by a ClientHello type,
 * or a DTLS handshake record header: a file without one has no SNI for tshark
 * to find (and our side must then find none either).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TlsAnalyzer } from '../src/analyze/tls-analyzer.js';
import { FIXTURES } from './capture-fixtures.js';
import { mapLimit, runAnalyzers, tsharkFields } from './helpers/mini-flows.js';

const FIELDS = [
  'frame.number',
  'frame.protocols',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'tls.handshake.extensions_server_name',
  'dtls.handshake.extensions_server_name',
] as const;

/** Endpoints in a fixed order so both directions give one key. */
function connKey(proto: string, a: string, pa: string, b: string, pb: string): string {
  const x = `${a}/${pa}`;
  const y = `${b}/${pb}`;
  return x < y ? `${proto} ${x} ${y}` : `${proto} ${y} ${x}`;
}

/** A TLS record header (22, 3.x) before a ClientHello (1), or a DTLS handshake record (22, fe fd/ff). */
function mayHoldClientHello(path: string): boolean {
  const b = readFileSync(path);
  for (let i = 0; i + 6 <= b.length; i++) {
    if (b[i] !== 22) continue;
    if (b[i + 1] === 3 && b[i + 2] <= 4 && b[i + 5] === 1) return true;
    if (b[i + 1] === 0xfe && (b[i + 2] === 0xfd || b[i + 2] === 0xff)) return true;
  }
  return false;
}

async function tsharkSnis(path: string): Promise<Map<string, string>> {
  if (!mayHoldClientHello(path)) return new Map();
  const rows = await tsharkFields(path, 'tls.handshake.extensions_server_name || dtls.handshake.extensions_server_name', FIELDS);
  const first = new Map<string, string>();
  for (const r of rows) {
    const protos = r['frame.protocols'][0] ?? '';
    const src = [...r['ip.src'], ...r['ipv6.src']];
    if (protos.includes('rdpudp') || src.length !== 1) continue;
    const tcp = r['tcp.srcport'].length === 1;
    const dst = [...r['ip.dst'], ...r['ipv6.dst']][0];
    const key = tcp
      ? connKey('tcp', src[0], r['tcp.srcport'][0], dst, r['tcp.dstport'][0])
      : connKey('udp', src[0], r['udp.srcport'][0], dst, r['udp.dstport'][0]);
    const sni = (tcp ? r['tls.handshake.extensions_server_name'] : r['dtls.handshake.extensions_server_name'])[0];
    if (!first.has(key)) first.set(key, `${sni} @${r['frame.number'][0]}`);
  }
  return first;
}

async function ourSnis(path: string): Promise<Map<string, string>> {
  const { flows } = await runAnalyzers(path, [new TlsAnalyzer()]);
  const found = new Map<string, string>();
  for (const f of flows) {
    if (!f.tls?.sni) continue;
    const proto = f.proto === 6 ? 'tcp' : 'udp';
    found.set(connKey(proto, f.clientIp, String(f.clientPort), f.serverIp, String(f.serverPort)), `${f.tls.sni} @${f.tls.clientHelloFrame}`);
  }
  return found;
}

describe('SNI against tshark', () => {
  it('finds every ClientHello server name tshark finds, on the same connection and frame', async () => {
    const results = await mapLimit(FIXTURES, 3, async ([name, path]) => ({
      name,
      theirs: Object.fromEntries(await tsharkSnis(path)),
      ours: Object.fromEntries(await ourSnis(path)),
    }));
    for (const r of results) expect(r.ours, r.name).toEqual(r.theirs);
    // The corpus must actually exercise this: plain TLS, a split ClientHello, ECH, IPv6, pcapng.
    const total = results.reduce((n, r) => n + Object.keys(r.theirs).length, 0);
    expect(total).toBeGreaterThanOrEqual(15);
  });
});
