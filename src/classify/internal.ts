/** The networks that count as "ours" (--internal), like Zeek's Site::local_nets. */
import { CidrError, CidrSet, parseCidr, parseIp } from '../policy/match.js';
import { parseIp4 } from '../decode/view.js';
import type { Flow } from '../flow/flow.js';
import { flowIp4 } from '../flow/record.js';

/** What the analyzers ask of the internal networks (InternalNets, or a stand-in in tests). */
export interface IpMatcher {
  containsIp(ip: string): boolean;
  /** containsIp of a flow's client (side 0) or server (side 1) address, without its text (InternalNets has it). */
  containsFlowAddr?(flow: Flow, side: 0 | 1): boolean;
}

/** m.containsIp of a flow's client (side 0) or server (side 1) address, by number where m can. */
export function internalAddr(m: IpMatcher, flow: Flow, side: 0 | 1): boolean {
  return m.containsFlowAddr !== undefined ? m.containsFlowAddr(flow, side) : m.containsIp(side === 0 ? flow.clientIp : flow.serverIp);
}

/** RFC 1918, shared address space (RFC 6598), unique local and link-local. */
export const DEFAULT_INTERNAL: readonly string[] = Object.freeze([
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
]);

/** Loopback is internal whatever --internal says: it never leaves the host. */
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

export class InternalNetError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`--internal "${input}": ${reason}; expected a CIDR like "10.0.0.0/8" or a single address`);
    this.name = 'InternalNetError';
  }
}

export class InternalNets implements IpMatcher {
  /** The networks as given (canonical text), for the report. */
  readonly cidrs: readonly string[];
  private readonly set: CidrSet<true>;
  /** The IPv4 networks as (network, mask) pairs: a few compares per address instead of a trie walk. */
  private readonly v4: Uint32Array;

  /** A bare address counts as a host network (/32, /128). Throws InternalNetError. */
  constructor(cidrs: readonly string[] = DEFAULT_INTERNAL) {
    const parsed = cidrs.map((c) => {
      try {
        return parseCidr(c, true);
      } catch (e) {
        if (e instanceof CidrError) throw new InternalNetError(c, e.reason);
        throw e;
      }
    });
    this.cidrs = Object.freeze(parsed.map((p) => p.text));
    const all = [...parsed, ...LOOPBACK.map((c) => parseCidr(c))];
    this.set = new CidrSet(all.map((p) => [p, true] as const));
    this.v4 = Uint32Array.from(
      all.filter((p) => p.version === 4).flatMap((p) => {
        const mask = p.prefix === 0 ? 0 : (~0 << (32 - p.prefix)) >>> 0;
        return [(u32(p.bytes, 0) & mask) >>> 0, mask];
      }),
    );
  }

  containsIp(ip: string): boolean {
    // Dotted quads (nearly every call) without parseIp's byte array.
    const v4 = parseIp4(ip);
    if (v4 >= 0) return this.containsV4(v4);
    const bytes = parseIp(ip);
    return bytes !== null && this.containsBytes(bytes);
  }

  /** A flow's client (side 0) or server (side 1) address: an IPv4 flow's by number, without its text. */
  containsFlowAddr(flow: Flow, side: 0 | 1): boolean {
    const v4 = flowIp4(flow, side);
    return v4 >= 0 ? this.containsV4(v4) : this.containsIp(side === 0 ? flow.clientIp : flow.serverIp);
  }

  /** For Flow.clientAddr/serverAddr. */
  containsBytes(addr: Uint8Array): boolean {
    if (addr.length === 4) return this.containsV4(u32(addr, 0));
    return this.set.lookupBytes(addr).length > 0;
  }

  /** An IPv4 address as an unsigned 32-bit number. */
  containsV4(addr: number): boolean {
    const nets = this.v4;
    for (let i = 0; i < nets.length; i += 2) if ((addr & nets[i + 1]) >>> 0 === nets[i]) return true;
    return false;
  }
}

function u32(bytes: Uint8Array, off: number): number {
  return ((bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3]) >>> 0;
}
