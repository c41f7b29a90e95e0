/**
 * The Flow objects the table creates. A live flow costs memory for as long
 * as it is idle (up to 250 000 of them), so what most flows never use until
 * they end is made on first access: the address byte arrays (the table
 * matches IPv4 addresses as numbers), the RST/FIN flags, tags, notes, ICMP
 * errors and the classification lists. Reading or writing them behaves as
 * plain fields.
 */
import type { ClassifiedBy, FlowClass } from '../report/schema.js';
import type { Flow, IcmpErrorEvent, TlsInfo } from './flow.js';

export class FlowRecord implements Flow {
  clientIp = '';
  serverIp = '';
  lastTs: number;
  firstFrame = 0;
  lastFrame = 0;
  packets: [number, number] = [0, 0];
  bytes: [number, number] = [0, 0];
  payloadBytes: [number, number] = [0, 0];
  dirFirstTs: [number | null, number | null] = [null, null];
  frames: number[] = [];
  history = '';
  state = 'OTH';
  synCount = 0;
  synAckCount = 0;
  synToSynAck: number | null = null;
  synAckToAck: number | null = null;
  synTs: number | null = null;
  synAckTs: number | null = null;
  midstream = false;
  tls: TlsInfo | null = null;
  dnsName: string | null = null;
  dnsNameSource: 'dns' | 'nrb' | null = null;
  cls: FlowClass | null = null;
  service: string | null = null;
  edge: string | null = null;
  clientType: 'desktop' | 'mobile' | null = null;
  evicted = false;
  tlsState: unknown = undefined;
  tunnelProbe: unknown = undefined;
  vdiProbe: unknown = undefined;
  mediaState: unknown = undefined;

  /** IPv4 addresses as unsigned 32-bit numbers (the table compares these); 0 for IPv6. */
  client4 = 0;
  server4 = 0;
  private clientBytes: Uint8Array | null = null;
  private serverBytes: Uint8Array | null = null;
  private lazyRst: [boolean, boolean] | null = null;
  private lazyFin: [boolean, boolean] | null = null;
  private lazyTags: Set<string> | null = null;
  private lazyNotes: string[] | null = null;
  private lazyIcmpErrors: IcmpErrorEvent[] | null = null;
  private lazyClassifiedBy: ClassifiedBy[] | null = null;
  private lazyConflicts: string[] | null = null;
  private lazyFamilies: string[] | null = null;

  constructor(
    public uid: string,
    public proto: number,
    public ipVersion: 4 | 6,
    public clientPort: number,
    public serverPort: number,
    public firstTs: number,
  ) {
    this.lastTs = firstTs;
  }

  /** Take the addresses from `len` bytes at cOff / sOff of buf (copied). */
  setAddresses(buf: Uint8Array, cOff: number, sOff: number, len: number): void {
    if (len === 4) {
      this.client4 = readU32(buf, cOff);
      this.server4 = readU32(buf, sOff);
    } else {
      this.clientBytes = buf.slice(cOff, cOff + len);
      this.serverBytes = buf.slice(sOff, sOff + len);
    }
  }

  get clientAddr(): Uint8Array {
    return (this.clientBytes ??= u32Bytes(this.client4));
  }

  get serverAddr(): Uint8Array {
    return (this.serverBytes ??= u32Bytes(this.server4));
  }

  get rst(): [boolean, boolean] {
    return (this.lazyRst ??= [false, false]);
  }

  set rst(v: [boolean, boolean]) {
    this.lazyRst = v;
  }

  get fin(): [boolean, boolean] {
    return (this.lazyFin ??= [false, false]);
  }

  set fin(v: [boolean, boolean]) {
    this.lazyFin = v;
  }

  get tags(): Set<string> {
    return (this.lazyTags ??= new Set());
  }

  set tags(v: Set<string>) {
    this.lazyTags = v;
  }

  get notes(): string[] {
    return (this.lazyNotes ??= []);
  }

  set notes(v: string[]) {
    this.lazyNotes = v;
  }

  get icmpErrors(): IcmpErrorEvent[] {
    return (this.lazyIcmpErrors ??= []);
  }

  set icmpErrors(v: IcmpErrorEvent[]) {
    this.lazyIcmpErrors = v;
  }

  get classifiedBy(): ClassifiedBy[] {
    return (this.lazyClassifiedBy ??= []);
  }

  set classifiedBy(v: ClassifiedBy[]) {
    this.lazyClassifiedBy = v;
  }

  get conflicts(): string[] {
    return (this.lazyConflicts ??= []);
  }

  set conflicts(v: string[]) {
    this.lazyConflicts = v;
  }

  get families(): string[] {
    return (this.lazyFamilies ??= []);
  }

  set families(v: string[]) {
    this.lazyFamilies = v;
  }

  /** The IPv6 address bytes (null for IPv4), for the table's comparisons without materialising IPv4 arrays. */
  get client6(): Uint8Array | null {
    return this.ipVersion === 6 ? this.clientBytes : null;
  }

  get server6(): Uint8Array | null {
    return this.ipVersion === 6 ? this.serverBytes : null;
  }
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
