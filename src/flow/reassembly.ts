/**
 * TCP stream-prefix reassembly: per flow and direction, the first `cap`
 * bytes of the stream from the ISN, in order. Enough for TLS handshakes and
 * DNS over TCP; nothing past the cap is kept.
 *
 * - Out-of-order segments are written straight into the stream buffer at
 *   their offset; a short sorted list of filled ranges beyond the contiguous
 *   end (bounded: extra ranges are dropped) tracks what is there.
 * - Retransmissions and overlaps: the first copy of a byte wins (as most
 *   stacks do), later copies are ignored.
 * - A hole that never fills is explicit: `hasGap` (data waiting beyond it).
 * - All streams of one PrefixReassembler share a byte budget; when it is
 *   exceeded the least recently used streams are evicted (`evicted`,
 *   counted in `evictions`). A stream whose bytes were all consumed holds
 *   no buffer and counts nothing against the budget.
 * - Buffers and the range list are made on first need, the buffer small, so
 *   an idle stream is one small object. A caller that parses in-order
 *   segments straight from the packet opens a stream only for what it could
 *   not take (`openAt`: the origin is known and the first bytes are gone).
 */

export const DEFAULT_PREFIX_CAP = 16 * 1024;
export const DEFAULT_MAX_BUFFERED = 32 * 1024 * 1024;
/** Filled ranges kept beyond the contiguous end, per stream. */
const MAX_RANGES = 16;
const MIN_BUFFER = 256;

export interface ReassemblyOptions {
  /** Bytes of each stream to reassemble (default 16 KiB). */
  cap?: number;
  /** Total buffer bytes across all streams (default 32 MiB). */
  maxBufferedBytes?: number;
}

export class PrefixReassembler {
  readonly cap: number;
  readonly maxBufferedBytes: number;
  /** Buffer bytes currently allocated across streams. */
  bufferedBytes = 0;
  /** Streams evicted to stay within maxBufferedBytes. */
  evictions = 0;
  /** Insertion order = least recently used first. */
  private readonly lru = new Set<StreamPrefix>();

  constructor(opts: ReassemblyOptions = {}) {
    this.cap = Math.max(1, opts.cap ?? DEFAULT_PREFIX_CAP);
    this.maxBufferedBytes = Math.max(1, opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED);
  }

  /** A new stream (one direction of one flow). `cap` overrides the default prefix length. */
  open(cap = this.cap): StreamPrefix {
    return new StreamPrefix(this, cap);
  }

  /**
   * A stream whose origin is already known (sequence number `origin` is
   * stream offset 0) and whose first `offset` bytes were taken elsewhere:
   * it continues at `offset`.
   */
  openAt(origin: number, offset: number, cap = this.cap): StreamPrefix {
    const s = new StreamPrefix(this, cap);
    s.resume(origin, offset);
    return s;
  }

  /** Free a stream's buffer; it accepts nothing more. */
  release(s: StreamPrefix): void {
    this.bufferedBytes -= s.dropBuffer();
    this.lru.delete(s);
  }

  /** `s` holds no bytes: free its buffer and keep it off the eviction list until it buffers again. */
  giveBack(s: StreamPrefix): void {
    this.bufferedBytes -= s.freeBuffer();
    this.lru.delete(s);
  }

  /** Mark `s` most recently used. */
  touch(s: StreamPrefix): void {
    this.lru.delete(s);
    this.lru.add(s);
  }

  /** Make room for `bytes` more for `s`; false if `s` itself had to go. */
  reserve(s: StreamPrefix, bytes: number): boolean {
    for (const victim of this.lru) {
      if (this.bufferedBytes + bytes <= this.maxBufferedBytes) break;
      this.evict(victim);
    }
    if (s.evicted) return false;
    if (this.bufferedBytes + bytes > this.maxBufferedBytes) {
      this.evict(s);
      return false;
    }
    this.bufferedBytes += bytes;
    return true;
  }

  private evict(s: StreamPrefix): void {
    this.release(s);
    s.evicted = true;
    this.evictions++;
  }
}

export class StreamPrefix {
  private buf: Uint8Array | null = null;
  /** Relative sequence origin: the stream offset of sequence number `base` is 0 (int32, so it needs no heap number). */
  private base = 0;
  private started = false;
  /** Stream offset of buf[0] (bytes before it were consumed). */
  private consumed = 0;
  /** Stream offset just past the contiguous data. */
  private contiguousEnd = 0;
  /** Filled [start, end) stream-offset pairs beyond contiguousEnd, sorted, disjoint; made by the first out-of-order segment. */
  private ranges: number[] | null = null;
  private closed = false;
  /** Segments dropped because too many out-of-order ranges were pending. */
  dropped = 0;
  /** Removed by the reassembler's memory bound; no more data will come. */
  evicted = false;

  constructor(
    private readonly owner: PrefixReassembler,
    readonly cap: number,
  ) {}

  /** Contiguous bytes available (after any consumed). */
  get length(): number {
    return this.contiguousEnd - this.consumed;
  }

  /** Stream offset of bytes()[0]. */
  get offset(): number {
    return this.consumed;
  }

  /** The first `cap` bytes have all arrived. */
  get full(): boolean {
    return this.contiguousEnd >= this.cap;
  }

  /** Data arrived beyond a hole that is still open. */
  get hasGap(): boolean {
    return this.ranges !== null && this.ranges.length > 0;
  }

  /** Start at a known origin with the first `offset` bytes already consumed (see PrefixReassembler.openAt). */
  resume(origin: number, offset: number): void {
    this.started = true;
    this.base = origin | 0;
    this.consumed = this.contiguousEnd = offset;
  }

  /** The contiguous bytes, borrowed: valid until the next segment() or consume(). */
  bytes(): Uint8Array {
    return this.buf ? this.buf.subarray(0, this.length) : new Uint8Array(0);
  }

  /** Drop the first n contiguous bytes (already parsed); a buffer left empty goes back to the budget. */
  consume(n: number): void {
    n = Math.min(n, this.length);
    if (n <= 0 || !this.buf) return;
    if (this.consumed + n === this.bufferEnd()) {
      this.consumed += n;
      this.owner.giveBack(this);
      return;
    }
    this.buf.copyWithin(0, n, this.bufferEnd() - this.consumed);
    this.consumed += n;
  }

  /**
   * Add one TCP segment: `seq` from the header, `syn` if the SYN flag is set
   * (its sequence number precedes the data), payload = data[off, off+len).
   * The first segment seen fixes the origin (SYN: ISN + 1; else its seq, for
   * a flow picked up mid-stream). Returns the number of new contiguous bytes.
   */
  segment(seq: number, syn: boolean, data: Uint8Array, off: number, len: number): number {
    if (this.closed || this.evicted) return 0;
    const first = syn ? (seq + 1) >>> 0 : seq >>> 0;
    if (!this.started) {
      this.started = true;
      this.base = first | 0;
    }
    if (len <= 0) return 0;
    let start = (first - this.base) | 0; // signed 32-bit distance handles wrap-around
    if (start < 0) {
      off -= start;
      len += start;
      start = 0;
    }
    const end = Math.min(start + len, this.cap);
    if (len <= 0 || end <= this.contiguousEnd) return 0;
    if (start > this.contiguousEnd && this.ranges !== null && this.ranges.length >= 2 * MAX_RANGES) {
      this.dropped++;
      return 0;
    }
    this.owner.touch(this);
    if (!this.ensureCapacity(end)) return 0;
    this.writeNew(data, off - start, Math.max(start, this.contiguousEnd), end);
    const before = this.contiguousEnd;
    if (start <= before && !this.hasGap) {
      this.contiguousEnd = end; // in order with nothing pending: no range bookkeeping
      return end - before;
    }
    this.addRange(Math.max(start, before), end);
    const ranges = this.ranges!;
    while (ranges.length && ranges[0] <= this.contiguousEnd) {
      this.contiguousEnd = Math.max(this.contiguousEnd, ranges[1]);
      ranges.splice(0, 2);
    }
    return this.contiguousEnd - before;
  }

  /** Called by the owner on release: forget the buffer, return its size. */
  dropBuffer(): number {
    const size = this.freeBuffer();
    this.ranges = null;
    this.closed = true;
    return size;
  }

  /** Called by the owner when nothing is buffered: forget the buffer (the stream stays open), return its size. */
  freeBuffer(): number {
    const size = this.buf ? this.buf.length : 0;
    this.buf = null;
    return size;
  }

  private bufferEnd(): number {
    const r = this.ranges;
    return r !== null && r.length ? r[r.length - 1] : this.contiguousEnd;
  }

  private ensureCapacity(streamEnd: number): boolean {
    const need = streamEnd - this.consumed;
    const have = this.buf ? this.buf.length : 0;
    if (need <= have) return true;
    const size = Math.min(this.cap - this.consumed, Math.max(need, have * 2, MIN_BUFFER));
    if (!this.owner.reserve(this, size - have)) return false;
    const grown = new Uint8Array(size);
    if (this.buf) grown.set(this.buf.subarray(0, this.bufferEnd() - this.consumed));
    this.buf = grown;
    return true;
  }

  /**
   * Copy stream bytes [from, to) (stream offset s is at data[delta + s]),
   * skipping those already filled: the first copy wins.
   */
  private writeNew(data: Uint8Array, delta: number, from: number, to: number): void {
    const buf = this.buf!;
    const ranges = this.ranges;
    let cursor = from;
    for (let i = 0; ranges !== null && i < ranges.length && cursor < to; i += 2) {
      const rs = ranges[i];
      const re = ranges[i + 1];
      if (re <= cursor) continue;
      if (rs > cursor) buf.set(data.subarray(delta + cursor, delta + Math.min(rs, to)), cursor - this.consumed);
      cursor = Math.max(cursor, re);
    }
    if (cursor < to) buf.set(data.subarray(delta + cursor, delta + to), cursor - this.consumed);
  }

  /** Insert [s, e) into the sorted range list, merging overlaps and neighbours. */
  private addRange(s: number, e: number): void {
    const r = (this.ranges ??= []);
    let i = 0;
    while (i < r.length && r[i + 1] < s) i += 2;
    let j = i;
    while (j < r.length && r[j] <= e) {
      s = Math.min(s, r[j]);
      e = Math.max(e, r[j + 1]);
      j += 2;
    }
    r.splice(i, j - i, s, e);
  }
}
