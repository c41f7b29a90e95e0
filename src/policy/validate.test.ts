import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SPOKE_TWILIO_POLICY } from './spoke-twilio.js';
import { describeValue, PolicyError, validatePolicy } from './validate.js';

const SAMPLE = new URL('../../samples/policy-example.json', import.meta.url);
type J = any; // the tests mutate parsed JSON freely

const base = (): J => JSON.parse(JSON.stringify(SPOKE_TWILIO_POLICY));

function errorOf(mutate: (p: J) => unknown): PolicyError {
  const p = base();
  const replaced = mutate(p);
  try {
    validatePolicy(replaced === undefined ? p : replaced, 'my.json');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('validatePolicy accepted an invalid policy');
}

describe('validatePolicy', () => {
  it('accepts the sample user policy', () => {
    const p = validatePolicy(JSON.parse(readFileSync(SAMPLE, 'utf8')), 'policy-example.json');
    expect(p.signalling.map((h) => h.id)).toEqual(['spoke-gateway', 'twilio-voice-js', 'twilio-eventgw']);
    expect(p.media.edges.map((e) => e.id)).toEqual(['us1', 'gll']);
    expect(p.source).toMatch(/subset/);
  });

  it('keeps optional fields only when given and drops nothing else', () => {
    const p = base();
    delete p.source;
    delete p.signalling[0].source;
    const v = validatePolicy(p, 'x');
    expect('source' in v).toBe(false);
    expect(v.signalling[1].legacy).toMatch(/2\.3\.0/);
    expect(v.signalling[1].edge).toBe('gll');
  });

  it('accepts a "$schema" key', () => {
    expect(() => validatePolicy({ $schema: 'x', ...base() }, 'x')).not.toThrow();
  });

  it('gives path, expectation and finding in one message', () => {
    const e = errorOf((p) => {
      p.media.edges[2].cidrs[0] = '10.0.0/8';
    });
    expect(e.message).toBe(
      'my.json: media.edges[2].cidrs[0]: expected a CIDR like "10.0.0.0/8", got "10.0.0/8" ("10.0.0" is not an IPv4 (dotted quad) or IPv6 address)',
    );
    expect([e.source, e.path]).toEqual(['my.json', 'media.edges[2].cidrs[0]']);
  });

  const cases: Array<[string, (p: J) => unknown, string]> = [
    // top level
    ['not an object', () => [], '(top level): expected an object, got an empty array'],
    ['null', () => null, '(top level): expected an object, got null'],
    ['unknown field', (p) => void (p.limts = {}), 'limts: expected one of the fields name, version, signalling, regions, media, limits, rules, $schema, source, got unknown field "limts"'],
    ['missing field', (p) => void delete p.name, 'name: expected a value, got nothing (the field is missing)'],
    ['empty name', (p) => void (p.name = ' '), 'name: expected a non-empty string, got " "'],
    ['version not a string', (p) => void (p.version = 2), 'version: expected a non-empty string, got 2'],
    ['source empty', (p) => void (p.source = ''), 'source: expected a non-empty string, got ""'],
    // regions
    ['regions not an array', (p) => void (p.regions = 'us1'), 'regions: expected an array, got "us1"'],
    ['bad region id', (p) => void (p.regions[1] = 'US1'), 'regions[1]: expected an id of lower-case letters, digits and hyphens, got "US1"'],
    ['duplicate region', (p) => void (p.regions[2] = 'au1'), 'regions[2]: expected a region not used before, got "au1" (also at regions[0])'],
    ['{region} without regions', (p) => void (p.regions = []), 'regions: expected at least one region, as signalling[3].pattern uses {region}, got an empty array'],
    // signalling hosts
    ['signalling not an array', (p) => void (p.signalling = {}), 'signalling: expected an array, got an object'],
    ['host not an object', (p) => void (p.signalling[0] = 'x'), 'signalling[0]: expected an object, got "x"'],
    ['host unknown field', (p) => void (p.signalling[0].port = 443), 'signalling[0].port: expected one of the fields id, label, pattern, class, service, clients, proto, ports, required, edge, source, legacy, got unknown field "port"'],
    ['host missing field', (p) => void delete p.signalling[2].required, 'signalling[2].required: expected a value, got nothing (the field is missing)'],
    ['bad host id', (p) => void (p.signalling[0].id = 'Spoke Gateway'), 'signalling[0].id: expected an id of lower-case letters, digits and hyphens, got "Spoke Gateway"'],
    ['duplicate host id', (p) => void (p.signalling[5].id = 'spoke-gateway'), 'signalling[5].id: expected an id not used before, got "spoke-gateway" (also at signalling[0].id)'],
    ['empty label', (p) => void (p.signalling[0].label = ''), 'signalling[0].label: expected a non-empty string, got ""'],
    ['pattern not a string', (p) => void (p.signalling[0].pattern = 5), 'signalling[0].pattern: expected a non-empty string, got 5'],
    ['unknown placeholder', (p) => void (p.signalling[3].pattern = 'gw-{zone}.twilio.com'), 'signalling[3].pattern: expected a host pattern like "api.example.com", "*.example.com" or "gw-{region}.example.com", got "gw-{zone}.twilio.com" (unknown placeholder "{zone}" (known: {region}, {edge}))'],
    ['misplaced wildcard', (p) => void (p.signalling[0].pattern = 'a.*.spokephone.com'), 'signalling[0].pattern: expected a host pattern like "api.example.com", "*.example.com" or "gw-{region}.example.com", got "a.*.spokephone.com" ("*" is allowed only as the whole first label ("*.example.com"))'],
    ['single label', (p) => void (p.signalling[0].pattern = '*.com'), 'signalling[0].pattern: expected a host pattern like "api.example.com", "*.example.com" or "gw-{region}.example.com", got "*.com" (it needs at least two labels after any "*." (e.g. "example.com"))'],
    ['bad label', (p) => void (p.signalling[0].pattern = 'a_b.twilio.com'), 'signalling[0].pattern: expected a host pattern like "api.example.com", "*.example.com" or "gw-{region}.example.com", got "a_b.twilio.com" (label "a_b" must be letters, digits and inner hyphens)'],
    [
      '{edge} without aliases',
      (p) => {
        for (const e of p.media.edges) delete e.aliases;
      },
      'signalling[4].pattern: expected no {edge} placeholder, as no media edge has aliases, got "voice-js.{edge}.twilio.com"',
    ],
    ['bad class', (p) => void (p.signalling[0].class = 'spoke'), 'signalling[0].class: expected one of "spoke-signalling", "twilio-signalling", got "spoke"'],
    ['empty service', (p) => void (p.signalling[0].service = ''), 'signalling[0].service: expected a non-empty string, got ""'],
    ['no clients', (p) => void (p.signalling[0].clients = []), 'signalling[0].clients: expected a non-empty array, got an empty array'],
    ['bad client', (p) => void (p.signalling[0].clients = ['web']), 'signalling[0].clients[0]: expected one of "desktop", "mobile", got "web"'],
    ['duplicate client', (p) => void (p.signalling[0].clients = ['mobile', 'mobile']), 'signalling[0].clients[1]: expected a client type not used before, got "mobile" (also at signalling[0].clients[0])'],
    ['udp host', (p) => void (p.signalling[0].proto = 'udp'), 'signalling[0].proto: expected "tcp", got "udp"'],
    ['no ports', (p) => void (p.signalling[0].ports = []), 'signalling[0].ports: expected a non-empty array, got an empty array'],
    ['port 0', (p) => void (p.signalling[0].ports = [443, 0]), 'signalling[0].ports[1]: expected a port number from 1 to 65535, got 0'],
    ['port too big', (p) => void (p.signalling[0].ports = [70000]), 'signalling[0].ports[0]: expected a port number from 1 to 65535, got 70000'],
    ['fractional port', (p) => void (p.signalling[0].ports = [443.5]), 'signalling[0].ports[0]: expected a port number from 1 to 65535, got 443.5'],
    ['port as text', (p) => void (p.signalling[0].ports = ['443']), 'signalling[0].ports[0]: expected a port number from 1 to 65535, got "443"'],
    ['required not boolean', (p) => void (p.signalling[0].required = 'yes'), 'signalling[0].required: expected true or false, got "yes"'],
    ['unknown host edge', (p) => void (p.signalling[1].edge = 'us2'), 'signalling[1].edge: expected one of "au1", "br1", "ie1", "de1", "jp1", "sg1", "us1", "gll", got "us2"'],
    ['legacy not a string', (p) => void (p.signalling[1].legacy = true), 'signalling[1].legacy: expected a non-empty string, got true'],
    ['host source empty', (p) => void (p.signalling[4].source = ''), 'signalling[4].source: expected a non-empty string, got ""'],
    // media
    ['media missing', (p) => void delete p.media, 'media: expected a value, got nothing (the field is missing)'],
    ['media unknown field', (p) => void (p.media.ports = []), 'media.ports: expected one of the fields proto, portRange, shared, edges, got unknown field "ports"'],
    ['media proto', (p) => void (p.media.proto = 'tcp'), 'media.proto: expected "udp", got "tcp"'],
    ['portRange not an array', (p) => void (p.media.portRange = '10000-60000'), 'media.portRange: expected a non-empty array, got "10000-60000"'],
    ['portRange of three', (p) => void (p.media.portRange = [1, 2, 3]), 'media.portRange: expected two ports [first, last], got an array of 3'],
    ['portRange bad port', (p) => void (p.media.portRange = [10000, 65536]), 'media.portRange[1]: expected a port number from 1 to 65535, got 65536'],
    ['portRange reversed', (p) => void (p.media.portRange = [60000, 10000]), 'media.portRange[1]: expected a port not below the first (60000), got 10000'],
    ['shared not an array', (p) => void (p.media.shared = '168.86.128.0/18'), 'media.shared: expected an array, got "168.86.128.0/18"'],
    ['shared host bits', (p) => void (p.media.shared = ['168.86.128.1/18']), 'media.shared[0]: expected a CIDR like "10.0.0.0/8", got "168.86.128.1/18" (host bits are set; the network is 168.86.128.0/18)'],
    ['shared not a string', (p) => void (p.media.shared = [42]), 'media.shared[0]: expected a CIDR like "10.0.0.0/8", got 42'],
    ['no edges', (p) => void (p.media.edges = []), 'media.edges: expected a non-empty array, got an empty array'],
    ['edge not an object', (p) => void (p.media.edges[1] = 'br1'), 'media.edges[1]: expected an object, got "br1"'],
    ['edge unknown field', (p) => void (p.media.edges[0].cidr = []), 'media.edges[0].cidr: expected one of the fields id, name, cidrs, legacyCidrs, aliases, roaming, source, got unknown field "cidr"'],
    ['edge bad id', (p) => void (p.media.edges[0].id = 'AU1'), 'media.edges[0].id: expected an id of lower-case letters, digits and hyphens, got "AU1"'],
    ['duplicate edge id', (p) => void (p.media.edges[1].id = 'au1'), 'media.edges[1].id: expected an edge id not used before, got "au1" (also at media.edges[0].id)'],
    ['edge name missing', (p) => void delete p.media.edges[0].name, 'media.edges[0].name: expected a value, got nothing (the field is missing)'],
    ['edge prefix too long', (p) => void (p.media.edges[6].cidrs[2] = '34.203.250.0/33'), 'media.edges[6].cidrs[2]: expected a CIDR like "10.0.0.0/8", got "34.203.250.0/33" (the prefix length must be a whole number from 0 to 32)'],
    ['edge cidr without prefix', (p) => void (p.media.edges[6].cidrs[2] = '34.203.250.0'), 'media.edges[6].cidrs[2]: expected a CIDR like "10.0.0.0/8", got "34.203.250.0" (no "/prefix" length)'],
    ['legacy not in cidrs', (p) => void (p.media.edges[0].legacyCidrs = ['10.0.0.0/8']), 'media.edges[0].legacyCidrs[0]: expected one of this edge\'s cidrs, got "10.0.0.0/8"'],
    ['legacy bad cidr', (p) => void (p.media.edges[0].legacyCidrs = ['x']), 'media.edges[0].legacyCidrs[0]: expected a CIDR like "10.0.0.0/8", got "x" (no "/prefix" length)'],
    ['bad alias', (p) => void (p.media.edges[1].aliases = ['São Paulo']), 'media.edges[1].aliases[0]: expected an id of lower-case letters, digits and hyphens, got "São Paulo"'],
    ['alias that is an edge id', (p) => void (p.media.edges[0].aliases = ['us1']), 'media.edges[0].aliases[0]: expected an alias that is not also an edge id, got "us1"'],
    ['duplicate alias', (p) => void (p.media.edges[1].aliases = ['sydney']), 'media.edges[1].aliases[0]: expected an alias not used before, got "sydney" (also at media.edges[0].aliases[0])'],
    ['roaming not boolean', (p) => void (p.media.edges[7].roaming = 1), 'media.edges[7].roaming: expected true or false, got 1'],
    ['two roaming edges', (p) => void (p.media.edges[3].roaming = true), 'media.edges[7].roaming: expected at most one roaming edge, got true (also media.edges[3])'],
    [
      'no media cidrs at all',
      (p) => {
        p.media.shared = [];
        for (const e of p.media.edges) [e.cidrs, e.legacyCidrs] = [[], []];
      },
      'media.shared: expected at least one media CIDR here or in an edge, got an empty array',
    ],
    ['edge source empty', (p) => void (p.media.edges[0].source = ''), 'media.edges[0].source: expected a non-empty string, got ""'],
    // limits and rules
    ['limits missing', (p) => void delete p.limits, 'limits: expected a value, got nothing (the field is missing)'],
    ['limit missing', (p) => void delete p.limits.maxSetupMs, 'limits.maxSetupMs: expected a value, got nothing (the field is missing)'],
    ['limit zero', (p) => void (p.limits.minKbps = 0), 'limits.minKbps: expected a number above 0, got 0'],
    ['limit negative', (p) => void (p.limits.maxRttMs = -5), 'limits.maxRttMs: expected a number above 0, got -5'],
    ['limit as text', (p) => void (p.limits.maxJitterMs = '10ms'), 'limits.maxJitterMs: expected a number above 0, got "10ms"'],
    ['loss over 100', (p) => void (p.limits.maxLossPct = 150), 'limits.maxLossPct: expected a percentage above 0 and at most 100, got 150'],
    ['limits unknown field', (p) => void (p.limits.maxMos = 4), 'limits.maxMos: expected one of the fields minKbps, maxRttMs, maxJitterMs, maxLossPct, maxSetupMs, got unknown field "maxMos"'],
    ['rules not an object', (p) => void (p.rules = true), 'rules: expected an object, got true'],
    ['rule missing', (p) => void delete p.rules.noSpi, 'rules.noSpi: expected a value, got nothing (the field is missing)'],
    ['rule not boolean', (p) => void (p.rules.noVpn = 'yes'), 'rules.noVpn: expected true or false, got "yes"'],
  ];

  it.each(cases)('%s', (_what, mutate, message) => {
    expect(errorOf(mutate).message).toBe(`my.json: ${message}`);
  });
});

describe('describeValue', () => {
  it('names what was found', () => {
    expect(describeValue(undefined)).toBe('nothing (the field is missing)');
    expect(describeValue({})).toBe('an object');
    expect(describeValue([1, 2])).toBe('an array of 2');
    expect(describeValue(false)).toBe('false');
    expect(describeValue('x'.repeat(200))).toHaveLength(79);
    expect(describeValue('a\u001b[31m')).toBe('"a\\u001b[31m"');
  });
});
