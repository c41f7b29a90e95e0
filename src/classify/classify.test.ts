import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { destinationFamilies } from '../policy/compile.js';
import { loadPolicy } from '../policy/load.js';
import { parseIp } from '../policy/match.js';
import { SPOKE_TWILIO_POLICY } from '../policy/spoke-twilio.js';
import type { Policy } from '../policy/types.js';
import { Classifier, ListInterner, summarizeClasses } from './classify.js';
import { NameMap } from './names.js';
import { newFlow } from '../flow/table.js';
import { makeFlow, type FlowSpec } from './test-flows.js';

const LAN = '192.168.1.20';
const classifier = new Classifier(SPOKE_TWILIO_POLICY);

function run(spec: Partial<FlowSpec> & { server: string; serverPort: number }, c = classifier) {
  const flow = makeFlow({ client: LAN, ...spec });
  c.classify(flow);
  const { cls, service, edge, clientType, classifiedBy, conflicts, families, notes } = flow;
  return { cls, service, edge, clientType, classifiedBy, conflicts, families, notes, tags: [...flow.tags] };
}

const REGIONS = ['au1', 'br1', 'de1', 'ie1', 'jp1', 'sg1', 'us1'];
const EDGE_ALIASES: Record<string, string> = {
  sydney: 'au1',
  'sao-paulo': 'br1',
  dublin: 'ie1',
  frankfurt: 'de1',
  tokyo: 'jp1',
  singapore: 'sg1',
  ashburn: 'us1',
  roaming: 'gll',
};
const LEGACY = 'legacy host';

describe('signalling by name', () => {
  it.each([
    ['app.spokephone.com', 'spoke-signalling', 'spoke-gateway', null, null, 'spoke-gateway'],
    ['a.b.api.spokephone.com', 'spoke-signalling', 'spoke-gateway', null, null, 'spoke-gateway'],
    ['chunderw-gll.twilio.com', 'twilio-signalling', 'chunderw-gll', 'gll', 'desktop', 'twilio-chunderw-gll'],
    ['chunderw-vpc-gll.twilio.com', 'twilio-signalling', 'chunderw-vpc-gll', 'gll', 'desktop', 'twilio-chunderw-vpc-gll'],
    ['eventgw.twilio.com', 'twilio-signalling', 'eventgw', null, null, 'twilio-eventgw'],
    ['chunderm.gll.twilio.com', 'twilio-signalling', 'chunderm-gll', 'gll', 'mobile', 'twilio-chunderm-gll'],
    ['ers.twilio.com', 'twilio-signalling', 'ers', null, 'mobile', 'twilio-ers'],
    ['CHUNDERM.GLL.TWILIO.COM.', 'twilio-signalling', 'chunderm-gll', 'gll', 'mobile', 'twilio-chunderm-gll'],
  ])('SNI %s', (sni, cls, service, edge, clientType, family) => {
    const r = run({ server: '52.0.0.1', serverPort: 443, sni });
    expect(r).toMatchObject({ cls, service, edge, clientType, classifiedBy: ['sni', 'port'], families: [family], conflicts: [] });
  });

  it.each(REGIONS)('regional gateways for %s (desktop legacy and mobile)', (region) => {
    const desktop = run({ server: '52.0.0.1', serverPort: 443, sni: `chunderw-vpc-gll-${region}.twilio.com` });
    expect(desktop).toMatchObject({
      cls: 'twilio-signalling',
      service: 'chunderw-vpc-gll',
      edge: region,
      clientType: 'desktop',
      families: ['twilio-chunderw-vpc-gll-region'],
    });
    expect(desktop.notes.some((n) => n.startsWith(`${LEGACY} chunderw-vpc-gll-${region}.twilio.com: used only by Twilio Voice JS SDK < 2.3.0`))).toBe(true);
    const mobile = run({ server: '52.0.0.1', serverPort: 443, dnsName: `chunderm.${region}.gll.twilio.com` });
    expect(mobile).toMatchObject({
      cls: 'twilio-signalling',
      service: 'chunderm-gll',
      edge: region,
      clientType: 'mobile',
      classifiedBy: ['dns', 'port'],
      families: ['twilio-chunderm-region'],
      notes: [],
    });
  });

  it.each(Object.entries(EDGE_ALIASES))('voice-js.%s.twilio.com → edge %s, not legacy', (alias, edge) => {
    const r = run({ server: '52.0.0.1', serverPort: 443, sni: `voice-js.${alias}.twilio.com` });
    expect(r).toMatchObject({ cls: 'twilio-signalling', service: 'voice-js', edge, clientType: 'desktop', families: ['twilio-voice-js'], notes: [] });
  });

  it.each([
    ['spokephone.com', 'the apex is not "*."'],
    ['chunderw-vpc-gll-us2.twilio.com', 'us2 is not a policy region'],
    ['chunderm.us1.twilio.com', 'missing .gll'],
    ['voice-js.umatilla.twilio.com', 'umatilla is not a Spoke edge'],
    ['voice-js.us1.twilio.com', 'voice-js uses edge names, not region ids'],
  ])('%s is not a policy host (%s)', (name) => {
    const r = run({ server: '52.0.0.1', serverPort: 443, sni: name });
    expect(r.cls).toBe('other');
    expect(r.families).toEqual([]);
  });

  it('notes a policy name on a port the policy does not list, without counting the family', () => {
    const r = run({ server: '52.0.0.1', serverPort: 8443, sni: 'ers.twilio.com' });
    expect(r).toMatchObject({ cls: 'twilio-signalling', classifiedBy: ['sni'], families: [] });
    expect(r.notes).toEqual(["tcp/8443 is not the policy's tcp/443 for ers.twilio.com"]);
    const udp = run({ proto: 'udp', server: '52.0.0.1', serverPort: 443, sni: 'app.spokephone.com' });
    expect(udp.notes).toEqual(["udp/443 is not the policy's tcp/443 for app.spokephone.com"]);
  });

  it('names by a pcapng name resolution block as "nrb"', () => {
    const r = run({ server: '52.0.0.1', serverPort: 443, nrbName: 'ers.twilio.com' });
    expect(r.classifiedBy).toEqual(['nrb', 'port']);
  });
});

describe('name verdicts', () => {
  it('are the same from the per-name cache, and after it starts over when full', () => {
    const c = new Classifier(SPOKE_TWILIO_POLICY);
    const first = run({ server: '3.1.2.3', serverPort: 443, sni: 'Chunderw-VPC-gll.twilio.com' }, c);
    const notPolicy = run({ server: '3.1.2.4', serverPort: 443, sni: 'foo.twilio.com' }, c);
    expect(run({ server: '3.1.2.3', serverPort: 443, sni: 'Chunderw-VPC-gll.twilio.com' }, c)).toEqual(first);
    for (let i = 0; i < 5000; i++) c.matchHost(`h${i}.example.com`);
    expect(run({ server: '3.1.2.3', serverPort: 443, sni: 'Chunderw-VPC-gll.twilio.com' }, c)).toEqual(first);
    expect(run({ server: '3.1.2.4', serverPort: 443, sni: 'foo.twilio.com' }, c)).toEqual(notPolicy);
    expect([first.cls, first.service, notPolicy.cls]).toEqual(['twilio-signalling', 'chunderw-vpc-gll', 'other']);
  });

  it("keep each kind of a name's evidence apart when flows share it (SNI, DNS, NRB, the same name)", () => {
    const c = new Classifier(SPOKE_TWILIO_POLICY);
    const sniAndDns = { server: '52.0.0.1', serverPort: 443, sni: 'ers.twilio.com', dnsName: 'ers.twilio.com' };
    const both = run(sniAndDns, c);
    expect(both).toMatchObject({ classifiedBy: ['sni', 'dns', 'port'], conflicts: [] });
    expect(run({ server: '52.0.0.1', serverPort: 443, nrbName: 'ers.twilio.com' }, c).classifiedBy).toEqual(['nrb', 'port']);
    expect(run({ server: '52.0.0.1', serverPort: 443, dnsName: 'ers.twilio.com' }, c).classifiedBy).toEqual(['dns', 'port']);
    expect(run(sniAndDns, c)).toEqual(both);
    const hint = { server: '54.252.254.127', serverPort: 20000, proto: 'udp' as const, sni: 'unknown.twilio.com' };
    const media = run(hint, c);
    expect(media.notes).toContain('unknown.twilio.com is under a policy domain but matches no policy host');
    expect(run(hint, c)).toEqual(media);
  });
});

describe('media by address', () => {
  const OWN: Record<string, string[]> = {
    au1: ['54.252.254.64/26', '3.104.90.0/24'],
    br1: ['177.71.206.192/26', '18.228.249.0/24'],
    ie1: ['54.171.127.192/26', '52.215.127.0/24'],
    de1: ['35.156.191.128/25', '3.122.181.0/24'],
    jp1: ['54.65.63.192/26', '3.112.80.0/24'],
    sg1: ['54.169.127.128/26', '3.1.77.0/24'],
    us1: ['54.172.60.0/23', '34.203.250.0/23'],
  };
  const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
  const range = (cidr: string): [number, number] => {
    const [ip, len] = cidr.split('/');
    return [toInt(ip), toInt(ip) + 2 ** (32 - Number(len)) - 1];
  };

  for (const [edge, cidrs] of Object.entries(OWN))
    for (const cidr of cidrs)
      it(`${edge} ${cidr}: first and last inside are ${edge} (legacy), one outside each side is not`, () => {
        const [first, last] = range(cidr);
        for (const ip of [toIp(first), toIp(last)]) {
          const r = run({ proto: 'udp', server: ip, serverPort: 20000 });
          expect(r, ip).toMatchObject({
            cls: 'twilio-media',
            service: 'media',
            edge,
            classifiedBy: ['cidr', 'port'],
            families: [`media-${edge}`],
          });
          expect(r.notes).toEqual([`${cidr} is a legacy per-edge media range; Twilio media uses 168.86.128.0/18 since October 2023`]);
        }
        for (const ip of [toIp(first - 1), toIp(last + 1)]) expect(run({ proto: 'udp', server: ip, serverPort: 20000 }).cls, ip).toBe('other');
      });

  it('the shared range (first and last address) is media with no edge; outside it is not', () => {
    for (const ip of ['168.86.128.0', '168.86.191.255']) {
      const r = run({ proto: 'udp', server: ip, serverPort: 10000 });
      expect(r).toEqual({
        cls: 'twilio-media',
        service: 'media',
        edge: null,
        clientType: null,
        classifiedBy: ['cidr', 'port'],
        conflicts: [],
        families: ['media-shared'],
        notes: [],
        tags: [],
      });
    }
    expect(run({ proto: 'udp', server: '168.86.127.255', serverPort: 10000 }).cls).toBe('other');
    expect(run({ proto: 'udp', server: '168.86.192.0', serverPort: 10000 }).cls).toBe('other');
  });

  it.each([
    [10000, 'twilio-media'],
    [60000, 'twilio-media'],
    [9999, 'other'],
    [60001, 'other'],
  ])('port %i → %s', (port, cls) => {
    const r = run({ proto: 'udp', server: '168.86.130.1', serverPort: port });
    expect(r.cls).toBe(cls);
    if (cls === 'other') {
      expect(r.notes).toEqual([`udp/${port} to media range 168.86.128.0/18 is outside the policy's udp/10000-60000`]);
      expect(r.families).toEqual([]);
    }
  });

  it('TCP to a media range is other, with a note', () => {
    const r = run({ server: '54.172.60.9', serverPort: 443 });
    expect(r).toMatchObject({ cls: 'other', service: null, classifiedBy: ['cidr', 'port'] });
    expect(r.notes).toEqual(["tcp/443 to media range 54.172.60.0/23 is outside the policy's udp/10000-60000"]);
  });

  it('matches media ranges the same from address text and from address bytes', () => {
    for (const [ip, port, proto] of [
      ['168.86.128.10', 15000, 17],
      ['34.203.251.255', 30000, 17],
      ['54.172.60.9', 443, 6],
      ['::ffff:34.203.251.255', 30000, 17],
      ['93.184.216.34', 20000, 17],
    ] as const) {
      const m = classifier.matchMedia(ip, port, proto);
      expect(classifier.matchMediaAddr(parseIp(ip)!, port, proto)).toEqual(m);
      if (ip !== '93.184.216.34') expect(m).not.toBeNull();
    }
  });

  it("matches a table flow's addresses by number the same as by bytes, either side", () => {
    for (const [client, server, port] of [
      ['10.0.0.1', '168.86.128.10', 15000],
      ['34.203.251.255', '10.0.0.1', 30000],
      ['10.0.0.1', '93.184.216.34', 20000],
      ['fd00::1', '::ffff:34.203.251.255', 30000],
    ] as const) {
      const c = parseIp(client)!;
      const s = parseIp(server)!;
      const flow = newFlow('F1', 17, c.length === 4 ? 4 : 6, c, s, port, port, 0);
      expect(classifier.matchMediaFlow(flow, 1)).toEqual(classifier.matchMediaAddr(s, port, 17));
      expect(classifier.matchMediaFlow(flow, 0)).toEqual(classifier.matchMediaAddr(c, port, 17));
    }
    expect(classifier.matchMediaFlow(newFlow('F1', 17, 4, parseIp('10.0.0.1')!, parseIp('168.86.128.10')!, 1, 15000, 0), 1)).not.toBeNull();
  });

  it('IPv4-mapped IPv6 addresses match IPv4 ranges', () => {
    expect(run({ proto: 'udp', client: '::ffff:192.168.1.20', server: '::ffff:34.203.251.255', serverPort: 30000 }).edge).toBe('us1');
  });

  it('takes the edge of shared-range media from a provider name or an analyzer tag', () => {
    const byName = run({ proto: 'udp', server: '168.86.140.1', serverPort: 20000, dnsName: 'media.ie1.twilio.com' });
    expect(byName).toMatchObject({ cls: 'twilio-media', edge: 'ie1', classifiedBy: ['cidr', 'port'], conflicts: [] });
    expect(byName.notes).toEqual(['media.ie1.twilio.com is under a policy domain but matches no policy host']);
    expect(run({ proto: 'udp', server: '168.86.140.1', serverPort: 20000, dnsName: 'x.frankfurt.twilio.com' }).edge).toBe('de1');
    expect(run({ proto: 'udp', server: '168.86.140.1', serverPort: 20000, tags: ['edge:jp1'] }).edge).toBe('jp1');
    expect(run({ proto: 'udp', server: '168.86.140.1', serverPort: 20000, tags: ['edge:tokyo'] }).edge).toBe('jp1');
    expect(run({ proto: 'udp', server: '168.86.140.1', serverPort: 20000, tags: ['edge:mars'] }).edge).toBeNull();
  });
});

describe('precedence and conflicts', () => {
  it('SNI beats the DNS name', () => {
    const r = run({ server: '52.0.0.1', serverPort: 443, sni: 'ers.twilio.com', dnsName: 'eventgw.twilio.com' });
    expect(r).toMatchObject({ service: 'ers', classifiedBy: ['sni', 'port'], conflicts: ['sni:twilio-signalling(ers) vs dns:twilio-signalling(eventgw)'] });
  });

  it('agreeing evidence is all listed, strongest first', () => {
    const r = run({ server: '52.0.0.1', serverPort: 443, sni: 'ers.twilio.com', dnsName: 'ERS.twilio.com.' });
    expect(r).toMatchObject({ classifiedBy: ['sni', 'dns', 'port'], conflicts: [] });
  });

  it('an unrelated SNI beats a media CIDR, and the conflict is recorded', () => {
    const r = run({ proto: 'udp', server: '54.172.60.1', serverPort: 20000, sni: 'www.example.com' });
    expect(r).toMatchObject({ cls: 'other', classifiedBy: ['sni'], conflicts: ['sni:other vs cidr:twilio-media(us1)'], families: [] });
  });

  it('a DNS name beats a media CIDR', () => {
    const r = run({ server: '168.86.128.10', serverPort: 443, dnsName: 'eventgw.twilio.com' });
    expect(r).toMatchObject({ cls: 'twilio-signalling', service: 'eventgw', conflicts: ['dns:twilio-signalling(eventgw) vs cidr:other'] });
    const media = run({ proto: 'udp', server: '168.86.128.10', serverPort: 15000, dnsName: 'ers.twilio.com' });
    expect(media.conflicts).toEqual(['dns:twilio-signalling(ers) vs cidr:twilio-media(shared)']);
  });

  it('a provider name that matches no host does not override the address', () => {
    const r = run({ proto: 'udp', server: '54.252.254.127', serverPort: 20000, sni: 'unknown.twilio.com' });
    expect(r).toMatchObject({ cls: 'twilio-media', edge: 'au1', conflicts: [] });
  });

  it('no evidence at all: other, no evidence listed', () => {
    expect(run({ server: '93.184.216.34', serverPort: 443 })).toMatchObject({ cls: 'other', service: null, classifiedBy: [], conflicts: [] });
    const hintOnly = run({ server: '93.184.216.34', serverPort: 443, sni: 'status.twilio.com' });
    expect(hintOnly).toMatchObject({ cls: 'other', classifiedBy: [] });
    expect(hintOnly.notes).toEqual(['status.twilio.com is under a policy domain but matches no policy host']);
  });

  it('a policy domain counts only whole labels: the domain itself and names under it, not a name ending in its text', () => {
    const note = (n: string) => [`${n} is under a policy domain but matches no policy host`];
    expect(run({ server: '93.184.216.34', serverPort: 443, sni: 'twilio.com' }).notes).toEqual(note('twilio.com'));
    expect(run({ server: '93.184.216.34', serverPort: 443, sni: 'a.b.Twilio.com.' }).notes).toEqual(note('a.b.Twilio.com.'));
    expect(run({ server: '93.184.216.34', serverPort: 443, sni: 'nottwilio.com' })).toMatchObject({ cls: 'other', notes: [] });
    expect(run({ server: '93.184.216.34', serverPort: 443, sni: 'twilio.com.evil.example' })).toMatchObject({ cls: 'other', notes: [] });
  });

  it('escapes control characters of wire names in notes', () => {
    const r = run({ server: '93.184.216.34', serverPort: 443, sni: 'a\u001b[2J.twilio.com' });
    expect(r.notes).toEqual(['a\\x1b[2J.twilio.com is under a policy domain but matches no policy host']);
  });
});

describe('analyzer tags and DNS', () => {
  it.each([
    [{ proto: 'udp' as const, server: '198.51.100.1', serverPort: 500, tags: ['vpn:ike'] }, 'tunnel', 'ike', ['payload']],
    [{ proto: 'udp' as const, server: '168.86.128.1', serverPort: 51820, tags: ['vpn:wireguard'] }, 'tunnel', 'wireguard', ['payload']],
    [{ server: '198.51.100.1', serverPort: 3389, tags: ['vdi:rdp'] }, 'vdi', 'rdp', ['payload']],
    [{ proto: 'udp' as const, server: '8.8.8.8', serverPort: 53 }, 'dns', 'dns', ['port']],
    [{ proto: 'udp' as const, server: '8.8.8.8', serverPort: 53, dnsPayload: true }, 'dns', 'dns', ['payload', 'port']],
    [{ proto: 'udp' as const, server: '8.8.8.8', serverPort: 5353, dnsPayload: true }, 'dns', 'dns', ['payload']],
    [{ proto: 'udp' as const, server: LAN, serverPort: 40000, client: '8.8.8.8', clientPort: 53 }, 'dns', 'dns', ['port']],
  ])('%j → %s', (spec, cls, service, by) => {
    expect(run(spec)).toMatchObject({ cls, service, classifiedBy: by, edge: null, families: [] });
  });

  it('takes only a "vpn:" or "vdi:" tag with a name after the colon', () => {
    for (const tags of [['vpn:'], ['vdi:'], ['vpnx:ike'], ['media:rtp', 'tls']])
      expect(run({ server: '198.51.100.1', serverPort: 4000, tags }).cls).toBe('other');
    expect(run({ server: '198.51.100.1', serverPort: 4000, tags: ['tls', 'vdi:blast', 'vpn:ike'] })).toMatchObject({ cls: 'vdi', service: 'blast' });
  });

  it('a VPN tag beats a policy SNI', () => {
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'ers.twilio.com', tags: ['vpn:ssl-vpn'] }).cls).toBe('tunnel');
  });
});

describe('the policy side as originator', () => {
  it('a TCP connection opened from a Twilio address named by DNS is inbound', () => {
    const names = new NameMap();
    names.add('52.9.9.9', 'chunderw-vpc-gll-us1.twilio.com', 999, 60);
    const c = new Classifier(SPOKE_TWILIO_POLICY, { names });
    const flow = makeFlow({ client: '52.9.9.9', clientPort: 443, server: LAN, serverPort: 50123, firstTs: 1000 });
    c.classify(flow);
    expect(flow).toMatchObject({ cls: 'twilio-signalling', edge: 'us1', classifiedBy: ['dns', 'port'], families: ['twilio-chunderw-vpc-gll-region'] });
    expect(flow.tags.has('inbound')).toBe(true);
    expect(flow.notes).toContain('inbound: 52.9.9.9 (twilio-signalling(chunderw-vpc-gll)) opened the connection');
    // An answer after the flow started does not count.
    const early = makeFlow({ client: '52.9.9.9', clientPort: 443, server: LAN, serverPort: 50124, firstTs: 998 });
    c.classify(early);
    expect(early.cls).toBe('other');
  });

  it('UDP media whose first packet came from Twilio is media, noted but not tagged inbound', () => {
    const r = run({ proto: 'udp', client: '168.86.150.3', clientPort: 18000, server: LAN, serverPort: 61000 });
    expect(r).toMatchObject({ cls: 'twilio-media', edge: null, families: ['media-shared'], tags: [] });
    expect(r.notes).toEqual(['the first packet seen came from 168.86.150.3 (twilio-media(shared)); the capture may have started mid-flow']);
  });
});

describe('pinned edge', () => {
  it('accepts an edge id or alias and notes flows on another edge', () => {
    const c = new Classifier(SPOKE_TWILIO_POLICY, { edge: 'ashburn' });
    expect(c.pinnedEdge).toBe('us1');
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'voice-js.sydney.twilio.com' }, c).notes).toEqual(['edge au1, but users are pinned to us1']);
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'voice-js.ashburn.twilio.com' }, c).notes).toEqual([]);
    expect(new Classifier(SPOKE_TWILIO_POLICY).pinnedEdge).toBe('gll');
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'voice-js.sydney.twilio.com' }).notes).toEqual([]);
  });

  it('rejects an unknown edge, listing the known ones', () => {
    expect(() => new Classifier(SPOKE_TWILIO_POLICY, { edge: 'us2' })).toThrow(
      'unknown edge "us2"; the policy\'s edges are au1/sydney, br1/sao-paulo, ie1/dublin, de1/frankfurt, jp1/tokyo, sg1/singapore, us1/ashburn, gll/roaming',
    );
  });
});

describe('user policies', () => {
  const sample = loadPolicy(fileURLToPath(new URL('../../samples/policy-example.json', import.meta.url)));

  it('classifies with a loaded policy', () => {
    const c = new Classifier(sample);
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'voice-js.ashburn.twilio.com' }, c)).toMatchObject({ service: 'voice-js', edge: 'us1' });
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'voice-js.sydney.twilio.com' }, c).cls).toBe('other');
    expect(run({ server: '52.0.0.1', serverPort: 443, sni: 'chunderw-gll.twilio.com' }, c).cls).toBe('other');
    expect(run({ proto: 'udp', server: '168.86.128.1', serverPort: 20000 }, c)).toMatchObject({ cls: 'twilio-media', edge: null, families: ['media-shared'] });
    expect(run({ proto: 'udp', server: '54.172.60.1', serverPort: 20000 }, c).cls).toBe('other');
  });

  it('matches IPv6 media ranges at their boundaries and edges in a user policy', () => {
    const v6: Policy = {
      ...sample,
      media: {
        ...sample.media,
        shared: ['2001:db8:100::/40'],
        edges: [
          { id: 'e1', name: 'one', cidrs: ['2001:db8:100::/40', '2001:db8:1::/48'], legacyCidrs: [] },
          { id: 'gll', name: 'roaming', cidrs: ['2001:db8:100::/40', '2001:db8:1::/48'], legacyCidrs: [], aliases: ['roaming'], roaming: true },
        ],
      },
    };
    const c = new Classifier(v6);
    const client = '2001:db8:ffff::2';
    const media = (server: string) => run({ proto: 'udp', client, server, serverPort: 20000 }, c);
    expect(media('2001:db8:1::')).toMatchObject({ cls: 'twilio-media', edge: 'e1', families: ['media-e1'], notes: [] });
    expect(media('2001:db8:1:ffff:ffff:ffff:ffff:ffff').edge).toBe('e1');
    expect(media('2001:db8:0:ffff:ffff:ffff:ffff:ffff').cls).toBe('other');
    expect(media('2001:db8:2::').cls).toBe('other');
    expect(media('2001:db8:100::')).toMatchObject({ edge: null, families: ['media-shared'] });
    expect(media('2001:db8:1ff:ffff:ffff:ffff:ffff:ffff').cls).toBe('twilio-media');
    expect(media('2001:db8:200::').cls).toBe('other');
  });

  it('uses the roaming edge when only its own range matches', () => {
    const p: Policy = {
      ...sample,
      media: {
        ...sample.media,
        edges: [{ id: 'gll', name: 'roaming', cidrs: ['168.86.128.0/18', '198.51.100.0/24'], legacyCidrs: ['198.51.100.0/24'], roaming: true }],
      },
    };
    const r = run({ proto: 'udp', server: '198.51.100.5', serverPort: 20000 }, new Classifier({ ...p, signalling: [] }));
    expect(r).toMatchObject({ cls: 'twilio-media', edge: 'gll', families: ['media-gll'] });
    expect(destinationFamilies(p).map((f) => f.id)).toContain('media-gll');
  });
});

describe('classify', () => {
  it('resets earlier classification fields', () => {
    const flow = makeFlow({ client: LAN, server: '52.0.0.1', serverPort: 443, sni: 'ers.twilio.com' });
    classifier.classify(flow);
    flow.tls!.sni = 'www.example.com';
    classifier.classify(flow);
    expect(flow).toMatchObject({ cls: 'other', service: null, clientType: null, families: [], classifiedBy: ['sni'] });
  });

  it('gives flows classified alike one shared, frozen list of each kind', () => {
    const a = makeFlow({ client: LAN, server: '52.0.0.1', serverPort: 443, sni: 'ers.twilio.com' });
    const b = makeFlow({ client: LAN, server: '52.0.0.2', serverPort: 443, sni: 'ers.twilio.com' });
    classifier.classify(a);
    classifier.classify(b);
    expect(a.classifiedBy).toEqual(['sni', 'port']);
    expect(a.classifiedBy).toBe(b.classifiedBy);
    expect(a.families).toBe(b.families);
    expect(Object.isFrozen(a.classifiedBy) && Object.isFrozen(a.families) && Object.isFrozen(a.conflicts)).toBe(true);
    const c = makeFlow({ client: LAN, server: '52.0.0.3', serverPort: 443, sni: 'x.example' });
    c.dnsName = 'ers.twilio.com';
    classifier.classify(c);
    expect(c.conflicts).toEqual(['sni:other vs dns:twilio-signalling(ers)']);
  });

  it('interns lists exactly, also past its bound', () => {
    const lists = new ListInterner();
    expect(lists.intern([])).toEqual([]);
    const ab = lists.intern(['a', 'b']);
    expect(lists.intern(['a', 'b'])).toBe(ab);
    expect(lists.intern(['a'])).toEqual(['a']);
    expect(lists.intern(['b', 'a'])).toEqual(['b', 'a']);
    for (let i = 0; i < 10_000; i++) expect(lists.intern([`x${i}`, 'y'])).toEqual([`x${i}`, 'y']);
    expect(lists.intern(['a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('summarizeClasses', () => {
  it('counts flows per class, unclassified included', () => {
    expect(summarizeClasses([{ cls: 'dns' }, { cls: 'twilio-media' }, { cls: 'dns' }, { cls: null }])).toEqual({
      dns: 2,
      'twilio-media': 1,
      unclassified: 1,
    });
    expect(summarizeClasses([])).toEqual({});
  });
});
