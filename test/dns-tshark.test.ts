/**
 * Differential test: for every DNS response on port 53 in the public
 * captures, the A, AAAA and CNAME records of its answer section equal the
 * answers of our DnsAnalyzer's transaction for that frame (over UDP and
 * TCP; a message cut short by the snap length gives what was captured).
 *
 * tshark lists A/AAAA/CNAME values from every section, so its answer
 * section is taken as the first dns.count.answers entries of dns.resp.type.
 * Left out: DNS inside tunnels (a second IP header) and inside ICMP errors,
 * which our outer-packet pipeline does not look into. tshark only reads the
 * captures where our flow table saw a port-53 flow (the flow table itself is
 * checked against tshark by flows-tshark.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { DnsAnalyzer, type DnsTransaction } from '../src/analyze/dns-analyzer.js';
import { FIXTURES } from './capture-fixtures.js';
import { mapLimit, runAnalyzers, tsharkFields } from './helpers/mini-flows.js';

const FIELDS = [
  'frame.number',
  'frame.protocols',
  'ip.src',
  'ipv6.src',
  'dns.count.answers',
  'dns.resp.type',
  'dns.a',
  'dns.aaaa',
  'dns.cname',
] as const;

interface Answers {
  A: string[];
  AAAA: string[];
  CNAME: string[];
}

const TYPE_NAMES: Record<string, keyof Answers> = { '1': 'A', '28': 'AAAA', '5': 'CNAME' };

function sorted(a: Answers): Answers {
  return { A: [...a.A].sort(), AAAA: [...a.AAAA].sort(), CNAME: a.CNAME.map((c) => c.toLowerCase()).sort() };
}

async function tsharkAnswers(path: string): Promise<Map<number, Answers>> {
  const rows = await tsharkFields(path, 'dns.flags.response == 1 && (udp.port == 53 || tcp.port == 53)', FIELDS);
  const out = new Map<number, Answers>();
  for (const r of rows) {
    const protos = r['frame.protocols'][0] ?? '';
    if (protos.includes('icmp') || r['ip.src'].length + r['ipv6.src'].length !== 1) continue;
    const inAnswers = r['dns.resp.type'].slice(0, Number(r['dns.count.answers'][0] ?? 0));
    const take = (type: keyof Answers, values: string[]) => values.slice(0, inAnswers.filter((t) => TYPE_NAMES[t] === type).length);
    out.set(Number(r['frame.number'][0]), sorted({ A: take('A', r['dns.a']), AAAA: take('AAAA', r['dns.aaaa']), CNAME: take('CNAME', r['dns.cname']) }));
  }
  return out;
}

function ourAnswers(transactions: DnsTransaction[], frames: Iterable<number>): Map<number, Answers> {
  const out = new Map<number, Answers>();
  for (const f of frames) out.set(f, { A: [], AAAA: [], CNAME: [] });
  for (const tx of transactions) {
    const a = tx.responseFrame !== null ? out.get(tx.responseFrame) : undefined;
    if (a) for (const ans of tx.answers) a[ans.type].push(ans.data);
  }
  for (const [f, a] of out) out.set(f, sorted(a));
  return out;
}

describe('DNS answers against tshark', () => {
  it('every response has the same A, AAAA and CNAME answers as tshark finds', async () => {
    const results = await mapLimit(FIXTURES, 3, async ([name, path]) => {
      const dns = new DnsAnalyzer({ add() {} }, { maxKept: 1_000_000 });
      const { flows } = await runAnalyzers(path, [dns]);
      if (!flows.some((f) => f.dnsPayload)) return { name, theirs: {}, ours: {}, responses: 0 };
      const theirs = await tsharkAnswers(path);
      return {
        name,
        theirs: Object.fromEntries(theirs),
        ours: Object.fromEntries(ourAnswers(dns.transactions(), theirs.keys())),
        responses: theirs.size,
      };
    });
    for (const r of results) expect(r.ours, r.name).toEqual(r.theirs);
    const responses = results.reduce((n, r) => n + r.responses, 0);
    expect(responses).toBeGreaterThanOrEqual(200);
  });
});
