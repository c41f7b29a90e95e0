/**
 * The Flow objects the table hands to analyzers. Counters, times, addresses,
 * evidence frames and the TCP tracker live in the flow's row of the table's
 * typed-array columns (columns.ts); the object holds what analyzers annotate.
 * Reading a counter field returns its current value (tuples are fresh copies:
 * change them by assigning a whole tuple). What most flows never use (tags,
 * notes, ICMP errors, classification lists, address text) is made on first
 * access, so an idle live flow costs a few hundred bytes.
 */
import type { ClassifiedBy, FlowClass } from '../report/schema.js';
import { formatIp, formatIp4, IPPROTO_TCP, IPPROTO_UDP } from '../decode/view.js';
import type { Flow, IcmpErrorEvent, TlsInfo } from './flow.js';
import { MAX_EVIDENCE_FRAMES } from './flow.js';
import {
  detachedRows,
  F_BYTES,
  F_DIR_FIRST_TS,
  F_LAST_TS,
  F_PAYLOAD,
  F_WORDS,
  FlowColumns,
  G_FIRST_TS,
  G_SYN_TO_SYNACK,
  G_SYN_TS,
  G_SYNACK_TO_ACK,
  G_SYNACK_TS,
  G_WORDS,
  META_DNS_PAYLOAD,
  META_EVICTED,
  META_ADDR_TEXT,
  META_IPV6,
  META_MIDSTREAM,
  META_TCP_TRACKED,
  U_CLIENT4,
  U_EVIDENCE_COUNT,
  U_FIRST_FRAME,
  U_LAST_FRAME,
  U_META,
  U_PACKETS,
  U_SERVER4,
  U_WORDS,
  X_EVIDENCE,
  X_WORDS,
} from './columns.js';
import { setTcpFlags, setTcpSynCount, tcpConnState, tcpFlagsOf, tcpSynCounts, udpConnState } from './tcp-state.js';

/** Rarely set annotations, made on first use. */
interface FlowExtras {
  tags: Set<string> | null;
  notes: string[] | null;
  icmpErrors: IcmpErrorEvent[] | null;
  classifiedBy: ClassifiedBy[] | null;
  conflicts: string[] | null;
  families: string[] | null;
  /** An explicitly assigned conn_state / uid (tests, hand-made flows). */
  state: string | null;
  uid: string | null;
  dnsName: string | null;
  dnsNameSource: 'dns' | 'nrb' | null;
  cls: FlowClass | null;
  service: string | null;
  edge: string | null;
  clientType: 'desktop' | 'mobile' | null;
}

const nullable = (v: number): number | null => (v === v ? v : null);

/**
 * Fields are few on purpose (8 bytes each, for every live flow): the IP
 * version and flags are read from the row, classification and names are kept
 * with the rarely set extras.
 */
export class FlowRecord implements Flow {
  history = '';
  tls: TlsInfo | null = null;
  tlsState: unknown = undefined;
  dnsState: unknown = undefined;
  tunnelProbe: unknown = undefined;
  vdiProbe: unknown = undefined;
  mediaState: unknown = undefined;

  /** IPv6 client then server address bytes (null for IPv4: the addresses are in the row). */
  private addr6: Uint8Array | null = null;
  private clientText: string | null = null;
  private serverText: string | null = null;
  private x: FlowExtras | null = null;

  constructor(
    /** Columns holding this flow's row: the table's while live, an arena's once ended. */
    public c: FlowColumns,
    public slot: number,
    /** Creation number: uid "F<id>". */
    readonly id: number,
    // Read by every analyzer on every packet: plain fields (they are also in the row, where the table matches them).
    public proto: number,
    public clientPort: number,
    public serverPort: number,
  ) {}

  /**
   * Every field of a FlowRecord is reassigned after construction by someone
   * (the table, the TCP tracker, analyzers, release), analyzers keep numbers as
   * well as objects in their state fields, and the extras hold objects of
   * several shapes. V8 first takes a field never reassigned as constant and one
   * that held one kind of value as holding only that; the first flow to break
   * this deoptimized every optimized function that made or read flows (create,
   * updateSlow, uid, ...), which were then compiled again. A throwaway record
   * takes those changes once, at load, before anything is optimized.
   */
  static generalizeFields(): void {
    const cols = new FlowColumns(1);
    const r = new FlowRecord(cols, 0, 0, 0, 0, 0);
    r.c = cols;
    r.slot = 0;
    r.proto = r.clientPort = r.serverPort = 0;
    r.history = '';
    r.tls = {} as TlsInfo;
    r.tls = null;
    r.tlsState = r.dnsState = r.tunnelProbe = r.vdiProbe = r.mediaState = 0;
    r.tlsState = r.dnsState = r.tunnelProbe = r.vdiProbe = r.mediaState = undefined;
    r.setAddr6(new Uint8Array(32), 0, 16);
    r.addr6 = null;
    r.clientText = r.serverText = '';
    r.x = {} as FlowExtras;
    r.x = null;
    const x = r.extras;
    x.tags = new Set();
    x.notes = x.icmpErrors = x.classifiedBy = x.conflicts = x.families = [];
    x.notes = x.icmpErrors = x.classifiedBy = x.conflicts = x.families = null;
    // A value first: storing null over null left the fields "constant", and the first flow
    // to get a DNS name or an edge deoptimized the flow-end code reading them (nameFor, judge, ...).
    x.state = x.uid = x.dnsName = x.service = x.edge = '';
    x.dnsNameSource = 'dns';
    x.cls = 'other';
    x.clientType = 'desktop';
    x.state = x.uid = x.dnsName = x.dnsNameSource = x.cls = x.service = x.edge = x.clientType = null;
    r.release();
    FlowRecord.generalizedExtras = x;
  }

  /**
   * The generalized extras, kept: the extras' object shape is held only by its
   * objects, and once none was left the garbage collector dropped it with what
   * generalizeFields taught it, so the first flow with a DNS name, class or edge
   * deoptimized the flow-end code all the same (nameFor, judge, the report's add).
   */
  private static generalizedExtras: FlowExtras | null = null;

  /**
   * The owner is done with this ended flow: drop its annotations, and let the
   * table reuse its row without copying it (slot -1: nothing may read it after).
   */
  release(): void {
    this.slot = -1;
    this.x = null;
    this.tls = null;
    this.tlsState = this.dnsState = this.tunnelProbe = this.vdiProbe = this.mediaState = undefined;
    this.clientText = this.serverText = null;
    this.history = '';
  }

  /** Move the row into the arena of ended flows (the table is about to reuse the slot). */
  detach(): void {
    const slot = detachedRows.takeRow();
    detachedRows.cols.copyRow(this.c, this.slot, slot);
    this.c = detachedRows.cols;
    this.slot = slot;
  }

  /** IPv6 address bytes (client then server, 16 each), copied from buf. */
  setAddr6(buf: Uint8Array, cOff: number, sOff: number): void {
    const a = new Uint8Array(32);
    a.set(buf.subarray(cOff, cOff + 16));
    a.set(buf.subarray(sOff, sOff + 16), 16);
    this.addr6 = a;
  }

  private get extras(): FlowExtras {
    return (this.x ??= {
      tags: null,
      notes: null,
      icmpErrors: null,
      classifiedBy: null,
      conflicts: null,
      families: null,
      state: null,
      uid: null,
      dnsName: null,
      dnsNameSource: null,
      cls: null,
      service: null,
      edge: null,
      clientType: null,
    });
  }

  private u(i: number): number {
    return this.c.u32[this.slot * U_WORDS + i];
  }

  private setU(i: number, v: number): void {
    this.c.u32[this.slot * U_WORDS + i] = v;
  }

  private setMeta(bit: number, on: boolean): void {
    const meta = this.u(U_META);
    this.setU(U_META, on ? meta | bit : meta & ~bit);
  }

  private f(i: number): number {
    return this.c.f64[this.slot * F_WORDS + i];
  }

  private setF(i: number, v: number): void {
    this.c.f64[this.slot * F_WORDS + i] = v;
  }

  private g(i: number): number {
    return this.c.g64[this.slot * G_WORDS + i];
  }

  private setG(i: number, v: number): void {
    this.c.g64[this.slot * G_WORDS + i] = v;
  }

  get ipVersion(): 4 | 6 {
    return (this.u(U_META) & META_IPV6) !== 0 ? 6 : 4;
  }

  set ipVersion(v: 4 | 6) {
    this.setMeta(META_IPV6, v === 6);
  }

  get midstream(): boolean {
    return (this.u(U_META) & META_MIDSTREAM) !== 0;
  }

  set midstream(v: boolean) {
    this.setMeta(META_MIDSTREAM, v);
  }

  get evicted(): boolean {
    return (this.u(U_META) & META_EVICTED) !== 0;
  }

  set evicted(v: boolean) {
    this.setMeta(META_EVICTED, v);
  }

  get dnsName(): string | null {
    return this.x?.dnsName ?? null;
  }

  set dnsName(v: string | null) {
    if (v !== null || this.x !== null) this.extras.dnsName = v;
  }

  get dnsNameSource(): 'dns' | 'nrb' | null {
    return this.x?.dnsNameSource ?? null;
  }

  set dnsNameSource(v: 'dns' | 'nrb' | null) {
    if (v !== null || this.x !== null) this.extras.dnsNameSource = v;
  }

  get cls(): FlowClass | null {
    return this.x?.cls ?? null;
  }

  set cls(v: FlowClass | null) {
    if (v !== null || this.x !== null) this.extras.cls = v;
  }

  get service(): string | null {
    return this.x?.service ?? null;
  }

  set service(v: string | null) {
    if (v !== null || this.x !== null) this.extras.service = v;
  }

  get edge(): string | null {
    return this.x?.edge ?? null;
  }

  set edge(v: string | null) {
    if (v !== null || this.x !== null) this.extras.edge = v;
  }

  get clientType(): 'desktop' | 'mobile' | null {
    return this.x?.clientType ?? null;
  }

  set clientType(v: 'desktop' | 'mobile' | null) {
    if (v !== null || this.x !== null) this.extras.clientType = v;
  }

  get uid(): string {
    return this.x?.uid ?? `F${this.id}`;
  }

  set uid(v: string) {
    this.extras.uid = v;
  }

  /** IPv4 addresses as unsigned 32-bit numbers; 0 for IPv6. */
  get client4(): number {
    return this.u(U_CLIENT4);
  }

  get server4(): number {
    return this.u(U_SERVER4);
  }

  /** The addresses as signed 32-bit numbers (the table's comparisons). */
  get client4i(): number {
    return this.c.i32[this.slot * U_WORDS + U_CLIENT4];
  }

  get server4i(): number {
    return this.c.i32[this.slot * U_WORDS + U_SERVER4];
  }

  /** The `len` bytes at buf[off] are the client's (side 0) or server's (side 1) IPv6 address. */
  addr6Equals(side: 0 | 1, buf: Uint8Array, off: number): boolean {
    const a = this.addr6;
    if (a === null) return false;
    for (let i = 0, j = side * 16; i < 16; i++, j++) if (buf[off + i] !== a[j]) return false;
    return true;
  }

  get clientAddr(): Uint8Array {
    return this.addr6 !== null ? this.addr6.slice(0, 16) : u32Bytes(this.client4);
  }

  get serverAddr(): Uint8Array {
    return this.addr6 !== null ? this.addr6.slice(16, 32) : u32Bytes(this.server4);
  }

  /**
   * The client's (side 0) or server's (side 1) IPv4 address as an unsigned
   * number, or -1 for IPv6 or an address assigned as text: what flow-end
   * code matches without formatting and parsing the dotted quad.
   */
  ip4(side: 0 | 1): number {
    if ((this.u(U_META) & (META_IPV6 | META_ADDR_TEXT)) !== 0) return -1;
    return this.u(side === 0 ? U_CLIENT4 : U_SERVER4);
  }

  get clientIp(): string {
    return (this.clientText ??= this.addr6 !== null ? formatIp(this.addr6, 0, 16) : formatIp4(this.client4));
  }

  set clientIp(v: string) {
    this.clientText = v;
    this.setMeta(META_ADDR_TEXT, true);
  }

  get serverIp(): string {
    return (this.serverText ??= this.addr6 !== null ? formatIp(this.addr6, 16, 16) : formatIp4(this.server4));
  }

  set serverIp(v: string) {
    this.serverText = v;
    this.setMeta(META_ADDR_TEXT, true);
  }

  get firstTs(): number {
    return this.g(G_FIRST_TS);
  }

  set firstTs(v: number) {
    this.setG(G_FIRST_TS, v);
  }

  get lastTs(): number {
    return this.f(F_LAST_TS);
  }

  set lastTs(v: number) {
    this.setF(F_LAST_TS, v);
  }

  get firstFrame(): number {
    return this.u(U_FIRST_FRAME);
  }

  set firstFrame(v: number) {
    this.setU(U_FIRST_FRAME, v);
  }

  get lastFrame(): number {
    return this.u(U_LAST_FRAME);
  }

  set lastFrame(v: number) {
    this.setU(U_LAST_FRAME, v);
  }

  /** packets[dir] without the tuple. */
  packetCount(dir: 0 | 1): number {
    return this.u(U_PACKETS + dir);
  }

  /** bytes[dir] without the tuple. */
  byteCount(dir: 0 | 1): number {
    return this.f(F_BYTES + dir);
  }

  get packets(): readonly [number, number] {
    return [this.u(U_PACKETS), this.u(U_PACKETS + 1)];
  }

  set packets(v: readonly [number, number]) {
    this.setU(U_PACKETS, v[0]);
    this.setU(U_PACKETS + 1, v[1]);
  }

  get bytes(): readonly [number, number] {
    return [this.f(F_BYTES), this.f(F_BYTES + 1)];
  }

  set bytes(v: readonly [number, number]) {
    this.setF(F_BYTES, v[0]);
    this.setF(F_BYTES + 1, v[1]);
  }

  get payloadBytes(): readonly [number, number] {
    return [this.f(F_PAYLOAD), this.f(F_PAYLOAD + 1)];
  }

  set payloadBytes(v: readonly [number, number]) {
    this.setF(F_PAYLOAD, v[0]);
    this.setF(F_PAYLOAD + 1, v[1]);
  }

  get dirFirstTs(): readonly [number | null, number | null] {
    return [nullable(this.f(F_DIR_FIRST_TS)), nullable(this.f(F_DIR_FIRST_TS + 1))];
  }

  set dirFirstTs(v: readonly [number | null, number | null]) {
    this.setF(F_DIR_FIRST_TS, v[0] ?? NaN);
    this.setF(F_DIR_FIRST_TS + 1, v[1] ?? NaN);
  }

  /** Evidence frame numbers (a copy). */
  get frames(): readonly number[] {
    const n = this.u(U_EVIDENCE_COUNT);
    const out: number[] = [];
    const x = this.c.x32;
    for (let i = 0, b = this.slot * X_WORDS + X_EVIDENCE; i < n; i++) out.push(x[b + i]);
    return out;
  }

  set frames(v: readonly number[]) {
    const n = Math.min(v.length, MAX_EVIDENCE_FRAMES);
    const x = this.c.x32;
    for (let i = 0, b = this.slot * X_WORDS + X_EVIDENCE; i < n; i++) x[b + i] = v[i];
    this.setU(U_EVIDENCE_COUNT, n);
  }

  get dnsPayload(): boolean {
    return (this.u(U_META) & META_DNS_PAYLOAD) !== 0;
  }

  set dnsPayload(v: boolean) {
    this.setMeta(META_DNS_PAYLOAD, v);
  }

  get state(): string {
    const set = this.x?.state;
    if (set) return set;
    if (this.proto === IPPROTO_TCP && (this.u(U_META) & META_TCP_TRACKED) !== 0) return tcpConnState(this);
    if (this.proto === IPPROTO_UDP) return udpConnState(this);
    return 'OTH';
  }

  set state(v: string) {
    this.extras.state = v;
  }

  /** The row holds a TCP tracker (its words are stale for other flows: clear() skips them). */
  private get tracked(): boolean {
    return (this.u(U_META) & META_TCP_TRACKED) !== 0;
  }

  get synCount(): number {
    return this.tracked ? tcpSynCounts(this.c, this.slot)[0] : 0;
  }

  set synCount(v: number) {
    setTcpSynCount(this.c, this.slot, false, v);
  }

  get synAckCount(): number {
    return this.tracked ? tcpSynCounts(this.c, this.slot)[1] : 0;
  }

  set synAckCount(v: number) {
    setTcpSynCount(this.c, this.slot, true, v);
  }

  get synTs(): number | null {
    return nullable(this.g(G_SYN_TS));
  }

  set synTs(v: number | null) {
    this.setG(G_SYN_TS, v ?? NaN);
  }

  get synAckTs(): number | null {
    return nullable(this.g(G_SYNACK_TS));
  }

  set synAckTs(v: number | null) {
    this.setG(G_SYNACK_TS, v ?? NaN);
  }

  get synToSynAck(): number | null {
    return nullable(this.g(G_SYN_TO_SYNACK));
  }

  set synToSynAck(v: number | null) {
    this.setG(G_SYN_TO_SYNACK, v ?? NaN);
  }

  get synAckToAck(): number | null {
    return nullable(this.g(G_SYNACK_TO_ACK));
  }

  set synAckToAck(v: number | null) {
    this.setG(G_SYNACK_TO_ACK, v ?? NaN);
  }

  get rst(): readonly [boolean, boolean] {
    return this.tracked ? tcpFlagsOf(this.c, this.slot, true) : [false, false];
  }

  set rst(v: readonly [boolean, boolean]) {
    setTcpFlags(this.c, this.slot, true, v);
  }

  get fin(): readonly [boolean, boolean] {
    return this.tracked ? tcpFlagsOf(this.c, this.slot, false) : [false, false];
  }

  set fin(v: readonly [boolean, boolean]) {
    setTcpFlags(this.c, this.slot, false, v);
  }

  /** The tags if any were ever made, without making an empty set. */
  peekTags(): ReadonlySet<string> | null {
    return this.x?.tags ?? null;
  }

  get tags(): Set<string> {
    const x = this.extras;
    return (x.tags ??= new Set());
  }

  set tags(v: Set<string>) {
    this.extras.tags = v;
  }

  get notes(): string[] {
    const x = this.extras;
    return (x.notes ??= []);
  }

  set notes(v: string[]) {
    this.extras.notes = v;
  }

  get icmpErrors(): IcmpErrorEvent[] {
    const x = this.extras;
    return (x.icmpErrors ??= []);
  }

  set icmpErrors(v: IcmpErrorEvent[]) {
    this.extras.icmpErrors = v;
  }

  get classifiedBy(): ClassifiedBy[] {
    const x = this.extras;
    return (x.classifiedBy ??= []);
  }

  set classifiedBy(v: ClassifiedBy[]) {
    this.extras.classifiedBy = v;
  }

  get conflicts(): string[] {
    const x = this.extras;
    return (x.conflicts ??= []);
  }

  set conflicts(v: string[]) {
    this.extras.conflicts = v;
  }

  get families(): string[] {
    const x = this.extras;
    return (x.families ??= []);
  }

  set families(v: string[]) {
    this.extras.families = v;
  }
}

FlowRecord.generalizeFields();

const NO_TAGS: ReadonlySet<string> = new Set();

/** A flow's tags, read only: for a FlowRecord without any, a shared empty set instead of a new one. */
export function tagsOf(flow: Flow): ReadonlySet<string> {
  return flow instanceof FlowRecord ? (flow.peekTags() ?? NO_TAGS) : flow.tags;
}

/** flow.packets[dir] (a FlowRecord's without making the tuple). */
export function flowPackets(flow: Flow, dir: 0 | 1): number {
  return flow instanceof FlowRecord ? flow.packetCount(dir) : flow.packets[dir];
}

/** flow.bytes[dir] (a FlowRecord's without making the tuple). */
export function flowBytes(flow: Flow, dir: 0 | 1): number {
  return flow instanceof FlowRecord ? flow.byteCount(dir) : flow.bytes[dir];
}

/** FlowRecord.ip4() of any flow: -1 (use the text) for one that is not a FlowRecord. */
export function flowIp4(flow: Flow, side: 0 | 1): number {
  return flow instanceof FlowRecord ? flow.ip4(side) : -1;
}

/** Big-endian 32 bits as a signed integer (stays a small integer in V8). */
export function readI32(buf: Uint8Array, off: number): number {
  return (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
