/**
 * Validation of a user policy (--policy): every problem names the field path,
 * what was expected and what was found, e.g.
 *   my.json: media.edges[2].cidrs[0]: expected a CIDR like "10.0.0.0/8", got "10.0.0/8" (no "/prefix" length)
 */
import { HOST_PLACEHOLDERS, compilePolicy } from './compile.js';
import { CidrError, hostPatternProblem, parseCidr } from './match.js';
import type { ClientType, MediaEdge, Policy, SignallingHost } from './types.js';

export class PolicyError extends Error {
  constructor(
    /** The policy file (or other source) name. */
    readonly source: string,
    /** Field path such as "media.edges[2].cidrs[0]"; null for file-level problems. */
    readonly path: string | null,
    readonly detail: string,
  ) {
    super(path === null ? `${source}: ${detail}` : `${source}: ${path || '(top level)'}: ${detail}`);
    this.name = 'PolicyError';
  }
}

type Json = Record<string, unknown>;

/** How a found value reads in an error message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}…"` : s;
  }
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const ID = /^[a-z0-9][a-z0-9-]*$/;
const ID_TEXT = 'an id of lower-case letters, digits and hyphens';

/** Walks the JSON value; each reader either returns a typed value or throws PolicyError at its path. */
class Walker {
  constructor(private readonly source: string) {}

  fail(path: string, detail: string): never {
    throw new PolicyError(this.source, path, detail);
  }

  expect(path: string, what: string, found: unknown, why?: string): never {
    this.fail(path, `expected ${what}, got ${describeValue(found)}${why ? ` (${why})` : ''}`);
  }

  object(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.expect(path, 'an object', v);
    const o = v as Json;
    const known = [...required, ...optional];
    for (const key of Object.keys(o))
      if (!known.includes(key)) this.fail(at(path, key), `expected one of the fields ${known.join(', ')}, got unknown field "${key}"`);
    for (const key of required) if (!(key in o)) this.expect(at(path, key), 'a value', undefined);
    return o;
  }

  array(v: unknown, path: string, nonEmpty: boolean): unknown[] {
    if (!Array.isArray(v)) this.expect(path, nonEmpty ? 'a non-empty array' : 'an array', v);
    if (nonEmpty && v.length === 0) this.expect(path, 'a non-empty array', v);
    return v;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string' || v.trim() === '') this.expect(path, 'a non-empty string', v);
    return v;
  }

  optionalString(o: Json, key: string, path: string): string | undefined {
    return key in o ? this.string(o[key], at(path, key)) : undefined;
  }

  id(v: unknown, path: string): string {
    if (typeof v !== 'string' || !ID.test(v)) this.expect(path, ID_TEXT, v);
    return v;
  }

  boolean(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.expect(path, 'true or false', v);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T))
      this.expect(path, options.length === 1 ? `"${options[0]}"` : `one of ${options.map((x) => `"${x}"`).join(', ')}`, v);
    return v as T;
  }

  number(v: unknown, path: string, what: string, ok: (n: number) => boolean): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) this.expect(path, what, v);
    return v;
  }

  port(v: unknown, path: string): number {
    return this.number(v, path, 'a port number from 1 to 65535', (n) => Number.isInteger(n) && n >= 1 && n <= 65535);
  }

  cidr(v: unknown, path: string): string {
    if (typeof v !== 'string') this.expect(path, 'a CIDR like "10.0.0.0/8"', v);
    try {
      parseCidr(v);
      return v;
    } catch (e) {
      if (e instanceof CidrError) this.expect(path, 'a CIDR like "10.0.0.0/8"', v, e.reason);
      throw e;
    }
  }

  unique<T>(items: T[], key: (t: T) => string, path: (i: number) => string, what: string): void {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      const first = seen.get(k);
      if (first !== undefined) this.expect(path(i), `${what} not used before`, k, `also at ${path(first)}`);
      seen.set(k, i);
    });
  }
}

const at = (path: string, key: string): string => (path ? `${path}.${key}` : key);
const item = (path: string, i: number): string => `${path}[${i}]`;

/** Check `obj` (parsed JSON) against the Policy format; `source` names it in errors. */
export function validatePolicy(obj: unknown, source: string): Policy {
  const w = new Walker(source);
  const root = w.object(obj, '', ['name', 'version', 'signalling', 'regions', 'media', 'limits', 'rules'], ['$schema', 'source']);

  const regions = w.array(root.regions, 'regions', false).map((r, i) => w.id(r, item('regions', i)));
  w.unique(regions, (r) => r, (i) => item('regions', i), 'a region');

  const media = readMedia(w, root.media);
  const signalling = w
    .array(root.signalling, 'signalling', false)
    .map((h, i) => readHost(w, h, item('signalling', i), regions, media.edges));
  w.unique(signalling, (h) => h.id, (i) => at(item('signalling', i), 'id'), 'an id');

  const limitsPath = 'limits';
  const l = w.object(root.limits, limitsPath, ['minKbps', 'maxRttMs', 'maxJitterMs', 'maxLossPct', 'maxSetupMs']);
  const positive = (key: string) => w.number(l[key], at(limitsPath, key), 'a number above 0', (n) => n > 0);
  const limits: Policy['limits'] = {
    minKbps: positive('minKbps'),
    maxRttMs: positive('maxRttMs'),
    maxJitterMs: positive('maxJitterMs'),
    maxLossPct: w.number(l.maxLossPct, 'limits.maxLossPct', 'a percentage above 0 and at most 100', (n) => n > 0 && n <= 100),
    maxSetupMs: positive('maxSetupMs'),
  };

  const ruleKeys = ['outboundOnly', 'noVpn', 'noMpls', 'noVdi', 'noSpi'] as const;
  const r = w.object(root.rules, 'rules', ruleKeys);
  const rules = Object.fromEntries(ruleKeys.map((k) => [k, w.boolean(r[k], at('rules', k))])) as Policy['rules'];

  const policy: Policy = {
    name: w.string(root.name, 'name'),
    version: w.string(root.version, 'version'),
    signalling,
    regions,
    media,
    limits,
    rules,
  };
  const policySource = w.optionalString(root, 'source', '');
  if (policySource !== undefined) policy.source = policySource;
  compilePolicy(policy); // every part was checked above; this only builds the matchers once as a final check
  return policy;
}

function readMedia(w: Walker, v: unknown): Policy['media'] {
  const path = 'media';
  const m = w.object(v, path, ['proto', 'portRange', 'shared', 'edges']);
  const proto = w.oneOf(m.proto, at(path, 'proto'), ['udp'] as const);
  const rangePath = at(path, 'portRange');
  const range = w.array(m.portRange, rangePath, true);
  if (range.length !== 2) w.expect(rangePath, 'two ports [first, last]', range);
  const lo = w.port(range[0], item(rangePath, 0));
  const hi = w.port(range[1], item(rangePath, 1));
  if (hi < lo) w.expect(item(rangePath, 1), `a port not below the first (${lo})`, hi);
  const sharedPath = at(path, 'shared');
  const shared = w.array(m.shared, sharedPath, false).map((c, i) => w.cidr(c, item(sharedPath, i)));

  const edgesPath = at(path, 'edges');
  const edges = w.array(m.edges, edgesPath, true).map((e, i) => readEdge(w, e, item(edgesPath, i)));
  w.unique(edges, (e) => e.id, (i) => at(item(edgesPath, i), 'id'), 'an edge id');
  const names = edges.flatMap((e, i) => (e.aliases ?? []).map((a, j) => ({ a, path: item(at(item(edgesPath, i), 'aliases'), j) })));
  const idSet = new Set(edges.map((e) => e.id));
  for (const { a, path: p } of names) if (idSet.has(a)) w.expect(p, 'an alias that is not also an edge id', a);
  w.unique(names, (n) => n.a, (i) => names[i].path, 'an alias');
  const roaming = edges.map((e, i) => ({ e, i })).filter(({ e }) => e.roaming);
  if (roaming.length > 1) w.expect(at(item(edgesPath, roaming[1].i), 'roaming'), 'at most one roaming edge', true, `also ${item(edgesPath, roaming[0].i)}`);
  if (shared.length === 0 && edges.every((e) => e.cidrs.length === 0))
    w.expect(sharedPath, 'at least one media CIDR here or in an edge', m.shared);
  return { proto, portRange: [lo, hi], shared, edges };
}

function readEdge(w: Walker, v: unknown, path: string): MediaEdge {
  const e = w.object(v, path, ['id', 'name', 'cidrs', 'legacyCidrs'], ['aliases', 'roaming', 'source']);
  const cidrsPath = at(path, 'cidrs');
  const cidrs = w.array(e.cidrs, cidrsPath, false).map((c, i) => w.cidr(c, item(cidrsPath, i)));
  const legacyPath = at(path, 'legacyCidrs');
  const canonical = new Set(cidrs.map((c) => parseCidr(c).text));
  const legacyCidrs = w.array(e.legacyCidrs, legacyPath, false).map((c, i) => {
    const cidr = w.cidr(c, item(legacyPath, i));
    if (!canonical.has(parseCidr(cidr).text)) w.expect(item(legacyPath, i), `one of this edge's cidrs`, c);
    return cidr;
  });
  const edge: MediaEdge = { id: w.id(e.id, at(path, 'id')), name: w.string(e.name, at(path, 'name')), cidrs, legacyCidrs };
  if ('aliases' in e) {
    const aliasesPath = at(path, 'aliases');
    edge.aliases = w.array(e.aliases, aliasesPath, false).map((a, i) => w.id(a, item(aliasesPath, i)));
  }
  if ('roaming' in e) edge.roaming = w.boolean(e.roaming, at(path, 'roaming'));
  const source = w.optionalString(e, 'source', path);
  if (source !== undefined) edge.source = source;
  return edge;
}

const HOST_CLASSES = ['spoke-signalling', 'twilio-signalling'] as const;
const CLIENT_TYPES: readonly ClientType[] = ['desktop', 'mobile'];

function readHost(w: Walker, v: unknown, path: string, regions: string[], edges: MediaEdge[]): SignallingHost {
  const h = w.object(
    v,
    path,
    ['id', 'label', 'pattern', 'class', 'service', 'clients', 'proto', 'ports', 'required'],
    ['edge', 'source', 'legacy'],
  );
  const patternPath = at(path, 'pattern');
  const pattern = w.string(h.pattern, patternPath);
  const problem = hostPatternProblem(pattern, HOST_PLACEHOLDERS);
  if (problem) w.expect(patternPath, 'a host pattern like "api.example.com", "*.example.com" or "gw-{region}.example.com"', pattern, problem);
  if (/\{region\}/i.test(pattern) && regions.length === 0) w.expect('regions', 'at least one region, as ' + patternPath + ' uses {region}', regions);
  if (/\{edge\}/i.test(pattern) && !edges.some((e) => (e.aliases ?? []).length > 0))
    w.expect(patternPath, 'no {edge} placeholder, as no media edge has aliases', pattern);

  const clientsPath = at(path, 'clients');
  const clients = w.array(h.clients, clientsPath, true).map((c, i) => w.oneOf(c, item(clientsPath, i), CLIENT_TYPES));
  w.unique(clients, (c) => c, (i) => item(clientsPath, i), 'a client type');
  const portsPath = at(path, 'ports');
  const ports = w.array(h.ports, portsPath, true).map((p, i) => w.port(p, item(portsPath, i)));

  const host: SignallingHost = {
    id: w.id(h.id, at(path, 'id')),
    label: w.string(h.label, at(path, 'label')),
    pattern,
    class: w.oneOf(h.class, at(path, 'class'), HOST_CLASSES),
    service: w.string(h.service, at(path, 'service')),
    clients,
    proto: w.oneOf(h.proto, at(path, 'proto'), ['tcp'] as const),
    ports,
    required: w.boolean(h.required, at(path, 'required')),
  };
  if ('edge' in h) {
    const ids = edges.map((e) => e.id);
    host.edge = w.oneOf(h.edge, at(path, 'edge'), ids);
  }
  const source = w.optionalString(h, 'source', path);
  if (source !== undefined) host.source = source;
  const legacy = w.optionalString(h, 'legacy', path);
  if (legacy !== undefined) host.legacy = legacy;
  return host;
}
