/**
 * Names each flow once, when it ends: its class, service, edge, client type,
 * the evidence (strongest first), evidence that disagrees, and the policy
 * destination families it counts under. Precedence: analyzer tags (VPN, VDI,
 * DNS) first, then SNI > DNS name > NRB name > media CIDR > port.
 * docs/policy.md describes the rules.
 */
import type { Flow } from '../flow/flow.js';
import { protoName } from '../flow/flow.js';
import { flowIp4, tagsOf } from '../flow/record.js';
import {
  compilePolicy,
  MEDIA_SHARED_FAMILY,
  mediaFamily,
  type CompiledPolicy,
  type HostBinding,
  type MediaRange,
} from '../policy/compile.js';
import { normalizeHostName, parseIp } from '../policy/match.js';
import type { Policy, SignallingHost } from '../policy/types.js';
import type { ClassifiedBy, FlowClass } from '../report/schema.js';
import { sanitizeText } from '../report/sanitize.js';

const TCP = 6;
const UDP = 17;
const DNS_PORT = 53;

export interface HostMatch {
  host: SignallingHost;
  /** The name, normalised (lower case, no trailing dot). */
  name: string;
  /** The {region}/{edge} value in the name, e.g. "us1", "ashburn". */
  region: string | null;
  /** Edge id the name implies ("us1", "gll"), or null. */
  edge: string | null;
}

export interface MediaMatch {
  /** The CIDR that decided: the edge's own range if one matched, else the shared range. */
  cidr: string;
  /** Edge whose own range holds the address; null for the shared (all-edge) range. */
  edge: string | null;
  /** The address is only in a shared range. */
  shared: boolean;
  /** The deciding range is a legacy one. */
  legacy: boolean;
  /** Protocol and port are within the policy's media rule (udp 10000–60000). */
  inPolicy: boolean;
}

/** Name lookups for the originator's address (the engine fills dnsName for the responder's). */
export interface NameLookup {
  lookupFlow(flow: Flow, side: 'client' | 'server', ts: number): string | null;
}

export interface ClassifierOptions {
  /** Edge users have pinned (--edge): an id or alias; default the roaming edge ("gll"). */
  edge?: string;
  names?: NameLookup;
}

type Side = 'server' | 'client';

/**
 * One piece of evidence; `cls` null for a hint (a provider name that no pattern matches).
 * Every kind has every field (made by `evidenceOf` only): one object shape, so the code
 * reading evidence at flow end sees one map, not three.
 */
interface Evidence {
  readonly by: ClassifiedBy;
  readonly side: Side;
  readonly cls: FlowClass | null;
  readonly name: string | null;
  readonly host: HostMatch | null;
  readonly media: MediaMatch | null;
}

/** A server name's host match and the class it claims (null: under a policy domain, but no policy host). */
interface NameVerdict {
  host: HostMatch | null;
  cls: FlowClass | null;
  /** The name's server-side evidence by kind, made on first use: evidence is never edited, so flows share it. */
  sni: Evidence | null;
  dns: Evidence | null;
  nrb: Evidence | null;
}

/** Distinct names whose verdicts are kept (the cache starts over when full). */
const MAX_NAME_VERDICTS = 4096;

const RANK: Record<ClassifiedBy, number> = { payload: 0, sni: 1, dns: 2, nrb: 3, cidr: 4, port: 5 };
const rankOfKind = (by: ClassifiedBy): number => RANK[by];
const rankOfEvidence = (e: Evidence): number => RANK[e.by];

/**
 * Strongest first, keeping the order of equals: an insertion sort, since the
 * lists hold a few entries and Array.prototype.sort would copy each into a
 * work array first (once per flow).
 */
function sortByRank<T>(list: T[], rank: (x: T) => number): void {
  for (let i = 1; i < list.length; i++) {
    const x = list[i];
    const r = rank(x);
    let j = i - 1;
    for (; j >= 0 && rank(list[j]) > r; j--) list[j + 1] = list[j];
    list[j + 1] = x;
  }
}

export class Classifier {
  readonly policy: Policy;
  /** The pinned edge id. */
  readonly pinnedEdge: string;
  private readonly compiled: CompiledPolicy;
  private readonly names: NameLookup | null;
  private readonly nameVerdicts = new Map<string, NameVerdict>();
  /** Legacy-host notes by host match (weak: the matches go when nameVerdicts is cleared). */
  private readonly legacyNotes = new WeakMap<HostMatch, string>();
  /** classify()'s lists while it decides (reused: one flow at a time). */
  private readonly by: ClassifiedBy[] = emptyObjectList();
  private readonly conflicts: string[] = emptyObjectList();
  private readonly families: string[] = emptyObjectList();
  /** gatherEvidence's list (reused like the lists above: read only while decide runs). */
  private readonly evidence: Evidence[] = emptyObjectList();
  private readonly lists = new ListInterner();

  /** Throws an Error naming the policy's edges if `opts.edge` is not one of them. */
  constructor(policy: Policy, opts: ClassifierOptions = {}) {
    this.policy = policy;
    this.compiled = compilePolicy(policy);
    this.names = opts.names ?? null;
    const wanted = (opts.edge ?? this.compiled.roamingEdge ?? 'gll').toLowerCase();
    const edge = this.compiled.edgeByName.get(wanted);
    if (edge === undefined) {
      const known = policy.media.edges.map((e) => [e.id, ...(e.aliases ?? [])].join('/')).join(', ');
      throw new Error(`unknown edge "${opts.edge ?? wanted}"; the policy's edges are ${known}`);
    }
    this.pinnedEdge = edge;
  }

  matchHost(name: string): HostMatch | null {
    return this.nameVerdict(name).host;
  }

  /**
   * What a server name says, worked out once per distinct name: a handful of
   * SNIs and DNS names cover most flows, and normalising and matching a name
   * (and each parent domain) made strings on every flow. Bounded.
   */
  private nameVerdict(name: string): NameVerdict {
    let v = this.nameVerdicts.get(name);
    if (v === undefined) {
      const n = normalizeHostName(name);
      const host = n === null ? null : this.matchNormalizedHost(n);
      v = { host, cls: host ? host.host.class : n !== null && this.inPolicyDomain(n) ? null : 'other', sni: null, dns: null, nrb: null };
      if (this.nameVerdicts.size >= MAX_NAME_VERDICTS) this.nameVerdicts.clear();
      this.nameVerdicts.set(name, v);
    }
    return v;
  }

  /** For a name already through normalizeHostName. */
  private matchNormalizedHost(n: string): HostMatch | null {
    const b: HostBinding | null = this.compiled.hosts.matchNormalized(n);
    return b && { host: b.host, name: n, region: b.region, edge: b.edge };
  }

  matchMedia(ip: string, port: number, proto: number): MediaMatch | null {
    const addr = parseIp(ip);
    return addr && this.matchMediaAddr(addr, port, proto);
  }

  /** matchMedia for an address as bytes (Flow.clientAddr/serverAddr): nothing to parse. */
  matchMediaAddr(addr: Uint8Array, port: number, proto: number): MediaMatch | null {
    return this.mediaMatch(this.compiled.media.lookupBytes(addr), port, proto);
  }

  /** matchMedia for a flow's client (side 0) or server (side 1) address: an IPv4 flow's by number, without bytes or text. */
  matchMediaFlow(flow: Flow, side: 0 | 1): MediaMatch | null {
    const v4 = flowIp4(flow, side);
    const port = side === 0 ? flow.clientPort : flow.serverPort;
    if (v4 >= 0) return this.mediaMatch(this.compiled.media.lookupV4(v4), port, flow.proto);
    return this.matchMediaAddr(side === 0 ? flow.clientAddr : flow.serverAddr, port, flow.proto);
  }

  private mediaMatch(ranges: readonly MediaRange[], port: number, proto: number): MediaMatch | null {
    if (ranges.length === 0) return null;
    // Ranges come least specific first: the last own-range of a specific edge decides,
    // then the roaming edge's, then the shared range.
    let decide: MediaRange | undefined;
    for (const r of ranges) if (r.edge !== null && !r.roaming) decide = r;
    decide ??= ranges.find((r) => r.roaming) ?? ranges[0];
    const [lo, hi] = this.policy.media.portRange;
    return {
      cidr: decide.cidr,
      edge: decide.edge,
      shared: decide.edge === null,
      legacy: decide.legacy,
      inPolicy: proto === UDP && port >= lo && port <= hi,
    };
  }

  classify(flow: Flow): void {
    flow.cls = null;
    flow.service = null;
    flow.edge = null;
    flow.clientType = null;
    const by = this.by;
    const conflicts = this.conflicts;
    const families = this.families;
    // Emptied by pop(), which compiles inline: `length = 0` is a runtime call that also drops
    // the backing store, so the next push allocated a new one (both once per flow).
    while (by.length !== 0) by.pop();
    while (conflicts.length !== 0) conflicts.pop();
    while (families.length !== 0) families.pop();
    this.decide(flow);
    // Shared, frozen lists: flows repeat a handful of them, and only classify writes them (replacing, never editing).
    flow.classifiedBy = this.lists.intern(by) as ClassifiedBy[];
    flow.conflicts = this.lists.intern(conflicts) as string[];
    flow.families = this.lists.intern(families) as string[];
  }

  /** classify() into this.by / this.conflicts / this.families. */
  private decide(flow: Flow): void {
    if (this.classifyByTags(flow)) return;

    const evidence = this.gatherEvidence(flow);
    let winner: Evidence | undefined;
    for (const e of evidence)
      if (e.cls === null) flow.notes.push(`${sanitizeText(e.name!)} is under a policy domain but matches no policy host`);
      else winner ??= e;
    if (!winner) {
      flow.cls = 'other';
      return;
    }
    flow.cls = winner.cls;
    const by = this.by;
    if (winner.host) this.applyHost(flow, winner, winner.host);
    else if (winner.media) this.applyMedia(flow, winner, winner.media, evidence);
    else by.push(winner.by);

    for (const e of evidence) {
      if (e === winner || e.cls === null) continue;
      if (sameClaim(e, winner)) {
        if (!by.includes(e.by)) by.push(e.by);
      } else this.conflicts.push(`${describe(winner)} vs ${describe(e)}`);
    }
    sortByRank(by, rankOfKind);

    if (winner.side === 'client') noteOriginator(flow, claim(winner));
    const pinned = this.pinnedEdge;
    if (flow.edge !== null && pinned !== this.compiled.roamingEdge && flow.edge !== pinned)
      flow.notes.push(`edge ${flow.edge}, but users are pinned to ${pinned}`);
  }

  /** VPN and VDI (from their analyzers) and DNS; true if that decided the class. */
  private classifyByTags(flow: Flow): boolean {
    const tags = tagsOf(flow);
    if (tags.size > 0)
      for (const tag of tags) {
        const vpn = tag.startsWith('vpn:');
        if ((vpn || tag.startsWith('vdi:')) && tag.length > 4) {
          flow.cls = vpn ? 'tunnel' : 'vdi';
          flow.service = tag.slice(4);
          this.by.push('payload');
          return true;
        }
      }
    // Every operand looked at for every flow: a DNS flow's client port, and a TCP flow's protocol, were
    // first compared at the flush (where TLS flows end), and deoptimized the classifier.
    const proto = flow.proto;
    const udpOrTcp = Math.min(proto ^ UDP, proto ^ TCP) === 0;
    const onDnsPort = Math.min(flow.serverPort ^ DNS_PORT, flow.clientPort ^ DNS_PORT) === 0;
    const dnsPort = udpOrTcp && onDnsPort;
    const dnsTag = flow.dnsPayload;
    if (!dnsTag && !dnsPort) return false;
    flow.cls = 'dns';
    flow.service = 'dns';
    if (dnsTag) this.by.push('payload');
    if (dnsPort) this.by.push('port');
    return true;
  }

  private gatherEvidence(flow: Flow): Evidence[] {
    // Reused: a new list per flow also meant growing its backing store on the first push.
    const evidence = this.evidence;
    while (evidence.length !== 0) evidence.pop();
    let named = false;
    const sni = flow.tls?.sni;
    if (sni) {
      const v = this.nameVerdict(sni);
      evidence.push((v.sni ??= nameEvidence('sni', sni, 'server', v)));
      named = v.host !== null;
    }
    const dnsName = flow.dnsName;
    if (dnsName) {
      const v = this.nameVerdict(dnsName);
      evidence.push(
        flow.dnsNameSource === 'nrb' ? (v.nrb ??= nameEvidence('nrb', dnsName, 'server', v)) : (v.dns ??= nameEvidence('dns', dnsName, 'server', v)),
      );
      if (v.host !== null) named = true;
    }

    let media = this.matchMediaFlow(flow, 1);
    let side: Side = 'server';
    if (!media) {
      media = this.matchMediaFlow(flow, 0);
      side = 'client';
    }
    if (media) evidence.push(evidenceOf('cidr', side, media.inPolicy ? 'twilio-media' : 'other', null, null, media));

    if (this.names && !named) {
      const clientName = this.names.lookupFlow(flow, 'client', flow.firstTs);
      const v = clientName ? this.nameVerdict(clientName) : null;
      if (v?.host) evidence.push(nameEvidence('dns', clientName!, 'client', v));
    }
    sortByRank(evidence, rankOfEvidence);
    return evidence;
  }

  /** Is the (normalised) name a policy domain or under one? */
  private inPolicyDomain(n: string): boolean {
    const domains = this.compiled.domains;
    if (domains.has(n)) return true;
    for (let dot = n.indexOf('.'); dot !== -1; dot = n.indexOf('.', dot + 1)) if (domains.has(n.slice(dot + 1))) return true;
    return false;
  }

  /** An edge named by a label of a provider name: "media.us1.twilio.com" → us1. */
  private edgeFromName(name: string): string | null {
    for (const label of (normalizeHostName(name) ?? '').split('.')) {
      const edge = this.compiled.edgeByName.get(label);
      if (edge !== undefined) return edge;
    }
    return null;
  }

  private applyHost(flow: Flow, e: Evidence, m: HostMatch): void {
    const h = m.host;
    flow.service = h.service;
    flow.edge = m.edge;
    flow.clientType = h.clients.length === 1 ? h.clients[0] : null;
    this.by.push(e.by);
    const port = e.side === 'server' ? flow.serverPort : flow.clientPort;
    if (flow.proto === TCP && h.ports.includes(port)) {
      this.by.push('port');
      this.families.push(h.id);
    } else
      flow.notes.push(`${protoName(flow.proto)}/${port} is not the policy's ${h.proto}/${h.ports.join(',')} for ${sanitizeText(m.name)}`);
    if (h.legacy) flow.notes.push(this.legacyNote(m, h.legacy));
  }

  /** The legacy-host note of a host match, made once per match (matches are kept per distinct name). */
  private legacyNote(m: HostMatch, legacy: string): string {
    let note = this.legacyNotes.get(m);
    if (note === undefined) this.legacyNotes.set(m, (note = `legacy host ${sanitizeText(m.name)}: ${legacy}`));
    return note;
  }

  private applyMedia(flow: Flow, e: Evidence, m: MediaMatch, evidence: Evidence[]): void {
    const [lo, hi] = this.policy.media.portRange;
    const port = e.side === 'server' ? flow.serverPort : flow.clientPort;
    this.by.push('cidr', 'port');
    if (!m.inPolicy) {
      flow.notes.push(
        `${protoName(flow.proto)}/${port} to media range ${m.cidr} is outside the policy's ${this.policy.media.proto}/${lo}-${hi}`,
      );
      return;
    }
    flow.service = 'media';
    flow.edge = m.edge ?? this.edgeHint(flow, evidence);
    this.families.push(m.shared ? MEDIA_SHARED_FAMILY : mediaFamily(m.edge!));
    if (m.legacy)
      flow.notes.push(`${m.cidr} is a legacy per-edge media range; Twilio media uses ${this.policy.media.shared.join(' ')} since October 2023`);
  }

  /** For media in the shared (anycast, all-edge) range: an edge named by an analyzer tag or a provider name. */
  private edgeHint(flow: Flow, evidence: Evidence[]): string | null {
    for (const tag of tagsOf(flow)) {
      if (tag.startsWith('edge:') && tag.length > 5) {
        const edge = this.compiled.edgeByName.get(tag.slice(5).toLowerCase());
        if (edge !== undefined) return edge;
      }
    }
    for (const e of evidence) {
      const edge = e.cls === null && e.name ? this.edgeFromName(e.name) : null;
      if (edge !== null) return edge;
    }
    return null;
  }

}

/** A name's evidence of one kind, from its verdict. */
function nameEvidence(by: ClassifiedBy, name: string, side: Side, v: NameVerdict): Evidence {
  return evidenceOf(by, side, v.cls, name, v.host, null);
}

function evidenceOf(
  by: ClassifiedBy,
  side: Side,
  cls: FlowClass | null,
  name: string | null,
  host: HostMatch | null,
  media: MediaMatch | null,
): Evidence {
  return { by, side, cls, name, host, media };
}

/** The policy destination is the originator: an inbound TCP connection, or UDP whose first packet seen came from it. */
function noteOriginator(flow: Flow, what: string): void {
  if (flow.proto === TCP && flow.synCount > 0) {
    flow.tags.add('inbound');
    flow.notes.push(`inbound: ${flow.clientIp} (${what}) opened the connection`);
  } else flow.notes.push(`the first packet seen came from ${flow.clientIp} (${what}); the capture may have started mid-flow`);
}

/** The service or edge in a claim (see claim), or null. */
function claimDetail(e: Evidence): string | null {
  return e.host ? e.host.host.service : e.media && e.cls === 'twilio-media' ? (e.media.edge ?? 'shared') : null;
}

/** What evidence says: "twilio-signalling(chunderw-vpc-gll)", "twilio-media(us1)", "other". */
function claim(e: Evidence): string {
  const detail = claimDetail(e);
  return `${e.cls}${detail ? `(${detail})` : ''}`;
}

/** claim(a) === claim(b), without making the strings (once per piece of evidence per flow). */
function sameClaim(a: Evidence, b: Evidence): boolean {
  return a.cls === b.cls && (claimDetail(a) || null) === (claimDetail(b) || null);
}

/**
 * An empty list whose elements kind already holds objects and strings: a reused list
 * made as `[]` changed its map on its first push, late in a capture, which deoptimized
 * the compiled code reading it (classify, decide).
 */
function emptyObjectList<T>(): T[] {
  const list: unknown[] = [null];
  list.pop();
  return list as T[];
}

/** Nodes kept by a ListInterner before it starts over. */
const MAX_LIST_NODES = 4096;

/** Equal string lists as one frozen array, found through a trie of their items (no key string is built). */
export class ListInterner {
  private root = new ListNode();
  private nodes = 0;

  intern(items: readonly string[]): readonly string[] {
    if (items.length === 0) return NO_ITEMS;
    let node = this.root;
    for (const item of items) {
      let next = node.next.get(item);
      if (next === undefined) {
        if (++this.nodes > MAX_LIST_NODES) {
          this.root = new ListNode();
          this.nodes = 0;
          return this.intern(items);
        }
        node.next.set(item, (next = new ListNode()));
      }
      node = next;
    }
    return (node.list ??= Object.freeze(items.slice()));
  }
}

class ListNode {
  readonly next = new Map<string, ListNode>();
  list: readonly string[] | null = null;
}

const NO_ITEMS: readonly string[] = Object.freeze([]);

/** Evidence with its kind: "sni:other", "cidr:twilio-media(us1)". */
function describe(e: Evidence): string {
  return `${e.by}:${claim(e)}`;
}

/** Flows per class; flows not yet classified count as "unclassified". */
export function summarizeClasses(flows: ReadonlyArray<{ cls: string | null }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of flows) {
    const k = f.cls ?? 'unclassified';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
