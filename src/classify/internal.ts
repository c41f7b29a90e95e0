/** The networks that count as "ours" (--internal), like Zeek's Site::local_nets. */
import { CidrError, CidrSet, parseCidr, parseIp } from '../policy/match.js';

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

export class InternalNets {
  /** The networks as given (canonical text), for the report. */
  readonly cidrs: readonly string[];
  private readonly set: CidrSet<true>;

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
    this.set = new CidrSet([...parsed, ...LOOPBACK.map((c) => parseCidr(c))].map((p) => [p, true] as const));
  }

  containsIp(ip: string): boolean {
    const bytes = parseIp(ip);
    return bytes !== null && this.containsBytes(bytes);
  }

  /** For Flow.clientAddr/serverAddr. */
  containsBytes(addr: Uint8Array): boolean {
    return this.set.lookupBytes(addr).length > 0;
  }
}
