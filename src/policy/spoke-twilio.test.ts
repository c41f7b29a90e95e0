import { describe, expect, it } from 'vitest';
import { destinationFamilies } from './compile.js';
import { SPOKE_TWILIO_POLICY as P } from './spoke-twilio.js';
import { validatePolicy } from './validate.js';

const host = (id: string) => P.signalling.find((h) => h.id === id)!;

describe('SPOKE_TWILIO_POLICY', () => {
  it('is a valid policy (round-trips through JSON and validation unchanged)', () => {
    expect(validatePolicy(JSON.parse(JSON.stringify(P)), 'built-in')).toEqual(P);
  });

  it('lists the seed document hosts, clients and ports', () => {
    const seed: Array<[string, string[]]> = [
      ['*.spokephone.com', ['desktop', 'mobile']],
      ['chunderw-gll.twilio.com', ['desktop']],
      ['chunderw-vpc-gll.twilio.com', ['desktop']],
      ['chunderw-vpc-gll-{region}.twilio.com', ['desktop']],
      ['eventgw.twilio.com', ['desktop', 'mobile']],
      ['chunderm.gll.twilio.com', ['mobile']],
      ['chunderm.{region}.gll.twilio.com', ['mobile']],
      ['ers.twilio.com', ['mobile']],
    ];
    for (const [pattern, clients] of seed) {
      const h = P.signalling.find((s) => s.pattern === pattern);
      expect(h, pattern).toBeDefined();
      expect(h!.clients).toEqual(clients);
      expect([h!.proto, h!.ports]).toEqual(['tcp', [443]]);
      expect(h!.source, `${pattern} is in the seed, so carries no source`).toBeUndefined();
    }
    expect(P.regions).toEqual(['au1', 'br1', 'de1', 'ie1', 'jp1', 'sg1', 'us1']);
  });

  it('marks the additions with sources and the pre-2.3.0 JS SDK hosts as legacy', () => {
    const additions = P.signalling.filter((h) => h.source);
    expect(additions.map((h) => h.pattern)).toEqual(['voice-js.{edge}.twilio.com']);
    expect(additions[0].source).toMatch(/twilio-voice\.js/);
    for (const id of ['twilio-chunderw-gll', 'twilio-chunderw-vpc-gll', 'twilio-chunderw-vpc-gll-region'])
      expect(host(id).legacy).toMatch(/< 2\.3\.0/);
    expect(P.signalling.filter((h) => h.legacy)).toHaveLength(3);
    for (const e of P.media.edges) expect(e.source).toMatch(/voice-media-ip-expansion/);
  });

  it('lists the seed media ranges per edge, the shared range, and marks the per-edge ranges legacy', () => {
    const seed: Record<string, [string, string[]]> = {
      au1: ['sydney', ['54.252.254.64/26', '3.104.90.0/24']],
      br1: ['são-paulo', ['177.71.206.192/26', '18.228.249.0/24']],
      ie1: ['dublin', ['54.171.127.192/26', '52.215.127.0/24']],
      de1: ['frankfurt', ['35.156.191.128/25', '3.122.181.0/24']],
      jp1: ['tokyo', ['54.65.63.192/26', '3.112.80.0/24']],
      sg1: ['singapore', ['54.169.127.128/26', '3.1.77.0/24']],
      us1: ['ashburn', ['54.172.60.0/23', '34.203.250.0/23']],
    };
    expect(P.media).toMatchObject({ proto: 'udp', portRange: [10000, 60000], shared: ['168.86.128.0/18'] });
    for (const [id, [name, own]] of Object.entries(seed)) {
      const e = P.media.edges.find((x) => x.id === id)!;
      expect(e.name).toBe(name);
      expect(e.cidrs).toEqual(['168.86.128.0/18', ...own]);
      expect(e.legacyCidrs).toEqual(own);
    }
    const gll = P.media.edges.find((x) => x.id === 'gll')!;
    expect(gll.roaming).toBe(true);
    expect(gll.cidrs).toEqual(['168.86.128.0/18', ...Object.values(seed).flatMap(([, own]) => own)]);
    expect(P.media.edges).toHaveLength(8);
  });

  it('has the seed limits, a documented setup threshold and every rule on', () => {
    expect(P.limits).toEqual({ minKbps: 100, maxRttMs: 100, maxJitterMs: 10, maxLossPct: 1, maxSetupMs: 300 });
    expect(Object.values(P.rules).every((r) => r === true)).toBe(true);
  });

  it('names a checklist family for every host, the shared media range and each edge legacy range', () => {
    const fams = destinationFamilies(P);
    expect(fams.map((f) => f.id)).toEqual([
      ...P.signalling.map((h) => h.id),
      'media-shared',
      'media-au1',
      'media-br1',
      'media-ie1',
      'media-de1',
      'media-jp1',
      'media-sg1',
      'media-us1',
    ]);
    expect(fams.find((f) => f.id === 'media-us1')).toMatchObject({ required: false });
    expect(fams.find((f) => f.id === 'media-us1')!.label).toContain('legacy');
    expect(fams.find((f) => f.id === 'media-shared')).toMatchObject({ required: true });
    expect(fams.filter((f) => !f.required).map((f) => f.id)).toEqual(['au1', 'br1', 'ie1', 'de1', 'jp1', 'sg1', 'us1'].map((e) => `media-${e}`));
  });
});
