/**
 * DNS analyzer: pairs queries with responses (per flow, id and question
 * name), feeds every A/AAAA answer to the name map, and keeps a bounded list
 * of transactions for the findings (failures kept first).
 *
 * Names go to the sink under the question name and under every name of the
 * CNAME chain, question first, so an address reached through a CDN alias
 * (chunderw-vpc-gll.twilio.com → …elb.amazonaws.com → A) is named after what
 * the client asked for. Port 53 over UDP and TCP (length-prefixed messages,
 * reassembled); mDNS (5353) is not used for names. A query without a
 * response within 5 s of capture time, or by the end of the capture, is a
 * transaction with rcode null.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import type { Flow } from '../flow/flow.js';
import type { NameSink } from '../classify/names.js';
import { PrefixReassembler, type StreamPrefix } from '../flow/reassembly.js';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_SYN } from '../decode/view.js';
import { DnsMessage, parseDns, type DnsAnswerType } from '../decode/dns.js';

export type { NameSink } from '../classify/names.js';

export interface DnsTransaction {
  ts: number;
  frame: number;
  responseFrame: number | null;
  flowUid: string;
  client: string;
  server: string;
  id: number;
  qname: string;
  qtype: number;
  /** null = no response seen. */
  rcode: number | null;
  answers: Array<{ name: string; type: DnsAnswerType; data: string; ttl: number }>;
  tcp: boolean;
}

/** The answers of a transaction without a response: shared, replaced (never modified) when the response comes. */
const NO_ANSWERS: DnsTransaction['answers'] = Object.freeze([]) as unknown as DnsTransaction['answers'];

/**
 * A kept transaction. A class, not an object literal: V8 pretenures a
 * literal's allocation site once it sees its objects survive (kept
 * transactions do), and that deoptimizes onMessage, which inlines the
 * allocation, in the middle of the capture. Fields in DnsTransaction's order.
 */
class Transaction implements DnsTransaction {
  constructor(
    readonly ts: number,
    readonly frame: number,
    public responseFrame: number | null,
    readonly flowUid: string,
    readonly client: string,
    readonly server: string,
    readonly id: number,
    readonly qname: string,
    readonly qtype: number,
    public rcode: number | null,
    public answers: DnsTransaction['answers'],
    readonly tcp: boolean,
  ) {}
}

/**
 * A query awaiting its response. It points at its flow while the flow lives
 * and takes a copy of the flow's identity when the flow ends (analyzers keep
 * no Flow past onFlowEnd); the transaction record is only built if it is kept.
 */
class PendingQuery {
  /** Neighbours in the analyzer's list of pending queries (oldest first). */
  older: PendingQuery | null = null;
  newer: PendingQuery | null = null;
  /** The next of the flow's pending queries (the flow's list starts at flow.dnsState), while the flow lives. */
  nextOfFlow: PendingQuery | null = null;
  flow: Flow | null;
  flowUid = '';
  client = '';
  server = '';

  constructor(
    readonly ts: number,
    readonly frame: number,
    flow: Flow,
    readonly id: number,
    readonly qname: string,
    readonly qtype: number,
    readonly tcp: boolean,
    /** Which side of the flow asked. */
    readonly fromClient: boolean,
  ) {
    this.flow = flow;
  }

  /** Copy what the transaction needs from the flow, which is ending. */
  detach(flow: Flow): void {
    this.flowUid = flow.uid;
    this.client = this.fromClient ? flow.clientIp : flow.serverIp;
    this.server = this.fromClient ? flow.serverIp : flow.clientIp;
    this.flow = null;
  }

  /** The transaction, still unanswered. */
  transaction(): DnsTransaction {
    const flow = this.flow;
    if (flow !== null) this.detach(flow);
    return new Transaction(this.ts, this.frame, null, this.flowUid, this.client, this.server, this.id, this.qname, this.qtype, null, NO_ANSWERS, this.tcp);
  }
}

/** A response whose query was not seen (capture started late, or a duplicate response): the query came from the other side. */
function unanswered(ctx: PacketContext, flow: Flow, msg: DnsMessage, qname: string, tcp: boolean, queryFromClient: boolean): DnsTransaction {
  const client = queryFromClient ? flow.clientIp : flow.serverIp;
  const server = queryFromClient ? flow.serverIp : flow.clientIp;
  return new Transaction(ctx.ts, ctx.frame, null, flow.uid, client, server, msg.id, qname, msg.qtype, null, NO_ANSWERS, tcp);
}

export interface DnsAnalyzerOptions {
  /** Queries awaiting a response (default 10 000); the oldest are dropped and counted. */
  maxPending?: number;
  /** Transactions kept for the report (default 10 000); failures are kept first. */
  maxKept?: number;
}

/** Seconds a query waits for its response. */
export const DNS_RESPONSE_TIMEOUT_S = 5;
const DNS_PORT = 53;
/** DNS over TCP: stream bytes reassembled per direction (messages are consumed as they complete). */
const TCP_STREAM_CAP = 256 * 1024;
const TCP_BUFFER_BUDGET = 8 * 1024 * 1024;

export class DnsAnalyzer implements Analyzer {
  readonly name = 'dns';
  /** Pending queries dropped (maxPending) plus DNS-over-TCP streams dropped (memory bound). */
  private pendingEvictions = 0;
  /** Transactions offered to admit(): kept, or counted in `omitted`. */
  private offered = 0;
  private readonly maxPending: number;
  private readonly maxKept: number;
  /**
   * Pending queries in the order they were sent, linked through older/newer.
   * Each flow also lists its own pending queries, from flow.dnsState through
   * nextOfFlow (no array per flow), where responses find them.
   */
  private oldest: PendingQuery | null = null;
  private newest: PendingQuery | null = null;
  private pendingCount = 0;
  private readonly failures: DnsTransaction[] = [];
  private readonly successes: DnsTransaction[] = [];
  private readonly reassembler = new PrefixReassembler({ cap: TCP_STREAM_CAP, maxBufferedBytes: TCP_BUFFER_BUDGET });
  private readonly tcpStreams = new Map<Flow, [StreamPrefix, StreamPrefix]>();
  private readonly msg = new DnsMessage();
  /** addNames() scratch: the question name and its CNAME chain. */
  private readonly chain: string[] = [];
  /** The sink takes IPv4 addresses as numbers: A records need no text. */
  private readonly numericSink: boolean;

  constructor(
    private readonly names: NameSink,
    opts: DnsAnalyzerOptions = {},
  ) {
    this.maxPending = Math.max(1, opts.maxPending ?? 10_000);
    this.maxKept = Math.max(1, opts.maxKept ?? 10_000);
    this.numericSink = typeof names.addIp4 === 'function';
  }

  /** Transactions not kept because of maxKept. */
  get omitted(): number {
    // Every admit() keeps one more or counts one more (a failure pushing out a success counts the success).
    return this.offered - this.failures.length - this.successes.length;
  }

  /** Pending queries and DNS-over-TCP stream prefixes dropped to stay within bounds. */
  get evictions(): number {
    return this.pendingEvictions + this.reassembler.evictions;
  }

  onPacket(ctx: PacketContext): void {
    const flow = ctx.flow;
    if (flow !== null && (flow.serverPort === DNS_PORT || flow.clientPort === DNS_PORT)) this.onDnsPacket(ctx, flow);
  }

  /** Out of onPacket, which the engine inlines: packets of port-53 flows only. */
  private onDnsPacket(ctx: PacketContext, flow: Flow): void {
    const view = ctx.view;
    if (view.fragOffset > 0) return; // a later IP fragment: no DNS header here
    if (flow.proto === IPPROTO_UDP) {
      if (view.payloadLen === 0) return;
      flow.dnsPayload = true;
      this.onMessage(ctx, flow, view.buf, view.payloadOff, view.payloadOff + view.payloadLen, false);
    } else if (flow.proto === IPPROTO_TCP) {
      this.onTcp(ctx, flow);
    }
  }

  onFlowEnd(flow: Flow): void {
    let q = (flow.dnsState as PendingQuery | undefined) ?? null;
    flow.dnsState = undefined;
    while (q !== null) {
      const next = q.nextOfFlow;
      q.nextOfFlow = null;
      q.detach(flow);
      q = next;
    }
    const streams = this.tcpStreams.get(flow);
    if (!streams) return;
    this.reassembler.release(streams[0]);
    this.reassembler.release(streams[1]);
    this.tcpStreams.delete(flow);
  }

  finish(): void {
    for (let q = this.oldest; q !== null; q = q.newer) this.keepUnanswered(q);
    this.oldest = this.newest = null;
    this.pendingCount = 0;
  }

  /** Kept transactions in frame order. */
  transactions(): DnsTransaction[] {
    return [...this.failures, ...this.successes].sort((a, b) => a.frame - b.frame);
  }

  private onTcp(ctx: PacketContext, flow: Flow): void {
    const view = ctx.view;
    const syn = (view.tcpFlags & TCP_SYN) !== 0;
    if (!syn && view.payloadLen === 0) return;
    let streams = this.tcpStreams.get(flow);
    if (!streams) {
      streams = [this.reassembler.open(), this.reassembler.open()];
      this.tcpStreams.set(flow, streams);
      flow.dnsPayload = true;
    }
    const s = streams[ctx.dir];
    if (s.segment(view.tcpSeq, syn, view.buf, view.payloadOff, view.payloadLen) === 0) return;
    // Each message is a 2-byte length then the message; handle every complete one.
    for (;;) {
      const bytes = s.bytes();
      if (bytes.length < 2) return;
      const len = (bytes[0] << 8) | bytes[1];
      if (bytes.length < 2 + len) return;
      this.onMessage(ctx, flow, bytes, 2, 2 + len, true);
      s.consume(2 + len);
    }
  }

  private onMessage(ctx: PacketContext, flow: Flow, buf: Uint8Array, off: number, end: number, tcp: boolean): void {
    const msg = this.msg;
    if (!parseDns(buf, off, end, msg, true)) {
      ctx.weird('dns-short');
      return;
    }
    if (msg.truncated) ctx.weird('dns-truncated');
    if (msg.error) ctx.weird(`dns-${msg.error}`);
    if (msg.qname === null) return;
    this.expire(ctx.ts);
    const qname = msg.qname; // lower case: parsed with foldCase
    const fromClient = ctx.dir === 0;
    let q: PendingQuery | null = null;
    /** The flow's last pending query, when q is not found. */
    let last: PendingQuery | null = null;
    for (let p = (flow.dnsState as PendingQuery | undefined) ?? null; p !== null; p = p.nextOfFlow) {
      if (p.id === msg.id && p.qname === qname) {
        q = p;
        break;
      }
      last = p;
    }
    if (!msg.response) {
      if (q !== null) return; // retransmission: the first query times the transaction
      if (this.pendingCount >= this.maxPending) {
        this.drop(this.oldest!);
        this.pendingEvictions++;
      }
      q = new PendingQuery(ctx.ts, ctx.frame, flow, msg.id, qname, msg.qtype, tcp, fromClient);
      if (last === null) flow.dnsState = q;
      else last.nextOfFlow = q;
      const newest = this.newest;
      q.older = newest;
      if (newest === null) this.oldest = q;
      else newest.newer = q;
      this.newest = q;
      this.pendingCount++;
      return;
    }
    this.addNames(qname, msg, ctx.ts);
    if (q !== null) this.drop(q);
    const failure = msg.rcode !== 0;
    if (!this.admit(failure)) return;
    const tx = q !== null ? q.transaction() : unanswered(ctx, flow, msg, qname, tcp, !fromClient);
    tx.responseFrame = ctx.frame;
    tx.rcode = msg.rcode;
    tx.answers = msg.answers(); // names already lower case
    (failure ? this.failures : this.successes).push(tx);
  }

  /** Every A/AAAA address under the question name, then each name along the CNAME chain. */
  private addNames(qname: string, msg: DnsMessage, ts: number): void {
    const chain = this.chain;
    chain.length = 0;
    chain.push(qname);
    const count = msg.answerCount;
    for (let i = 0; i < count; i++) {
      const n = msg.isCname(i) ? msg.answerData[i] : msg.answerNames[i];
      if (!chain.includes(n)) chain.push(n);
    }
    const sink = this.names;
    for (let i = 0; i < count; i++) {
      if (msg.isCname(i)) continue;
      const ttl = msg.answerTtls[i];
      if (msg.isA(i) && this.numericSink) {
        const ip4 = msg.answerIp4s[i];
        for (let c = 0; c < chain.length; c++) sink.addIp4!(ip4, chain[c], ts, ttl);
      } else {
        const ip = msg.answerText(i);
        for (let c = 0; c < chain.length; c++) sink.add(ip, chain[c], ts, ttl);
      }
    }
  }

  /** Queries older than the timeout become unanswered transactions. */
  private expire(now: number): void {
    for (let q = this.oldest; q !== null && now - q.ts > DNS_RESPONSE_TIMEOUT_S; q = this.oldest) {
      this.drop(q);
      this.keepUnanswered(q);
    }
  }

  /** No longer pending: answered, expired or evicted. */
  private drop(q: PendingQuery): void {
    const older = q.older;
    const newer = q.newer;
    if (older === null) this.oldest = newer;
    else older.newer = newer;
    if (newer === null) this.newest = older;
    else newer.older = older;
    q.older = q.newer = null;
    this.pendingCount--;
    const flow = q.flow;
    if (flow === null) return; // the flow ended and its list with it
    const first = flow.dnsState as PendingQuery;
    if (first === q) flow.dnsState = q.nextOfFlow ?? undefined;
    else {
      let p = first;
      while (p.nextOfFlow !== q) p = p.nextOfFlow!;
      p.nextOfFlow = q.nextOfFlow;
    }
    q.nextOfFlow = null;
  }

  private keepUnanswered(q: PendingQuery): void {
    if (this.admit(true)) this.failures.push(q.transaction());
  }

  /** Make room for a transaction (failures are kept first); false when it is only counted. */
  private admit(failure: boolean): boolean {
    // Counted on every call, not only once full: a first write after maxKept transactions would deoptimize onMessage.
    this.offered++;
    if (this.failures.length + this.successes.length < this.maxKept) return true;
    if (!failure || this.successes.length === 0) return false;
    this.successes.pop();
    return true;
  }
}
