/**
 * Flow counters and table bookkeeping as typed-array columns, one fixed-size
 * row ("slot") per flow: a live flow costs ~300 bytes here, none of which the
 * garbage collector has to trace, and a packet's lookup and counting touch a
 * few adjacent cache lines instead of a dozen small objects.
 * A FlowRecord points at its columns and slot; when its flow ends the row is
 * copied into an arena of ended rows so the record stays readable while the
 * live slot is reused.
 */

// Each row is split into a hot part, read or written by every packet of the
// flow (one 64-byte int row and one 64-byte float row), and cold parts read
// only by some packets or at the end: a packet of a live flow then touches
// about three cache lines of the columns instead of seven.

// ---- Hot Uint32 words per row (u32 / i32) ----
/** The flow's 30-bit hash key. */
export const U_KEY = 0;
/** The next row in the same hash bucket, as slot + 1 (0 = none). */
export const U_CHAIN = 1;
/** proto | META_* bits. */
export const U_META = 2;
/** clientPort << 16 | serverPort (signed: compare through the i32 view). */
export const U_PORTS = 3;
/** IPv4 client and server addresses (0 for IPv6); compare through the i32 view. */
export const U_CLIENT4 = 4;
export const U_SERVER4 = 5;
/** Packets per direction (+ dir). */
export const U_PACKETS = 6;
export const U_LAST_FRAME = 8;
export const U_EVIDENCE_COUNT = 9;
export const U_FIRST_FRAME = 10;
export const U_WORDS = 16;

// ---- Cold Uint32 words per row (x32) ----
/** Evidence frame numbers (MAX_EVIDENCE_FRAMES of them). */
export const X_EVIDENCE = 0;
/** TCP tracker words (see tcp-state.ts), TCP_WORDS of them. */
export const X_TCP = 16;
export const TCP_WORDS = 20;
export const X_WORDS = X_TCP + TCP_WORDS;

export const META_IPV6 = 0x100;
/** TCP with a tracker (ports were captured). */
export const META_TCP_TRACKED = 0x200;
/** Timeout class (CLASS_* in table.ts), 3 bits from here. */
export const META_CLASS_SHIFT = 16;
export const META_CLASS_MASK = 7;
/** Flow.dnsPayload, Flow.evicted, Flow.midstream. */
export const META_DNS_PAYLOAD = 0x1000;
export const META_EVICTED = 0x2000;
export const META_MIDSTREAM = 0x4000;
/** The client or server address was assigned as text (FlowRecord.clientIp/serverIp): the text is what counts. */
export const META_ADDR_TEXT = 0x8000;

// ---- Hot Float64 words per row (f64) ----
/** Capture time (monotone maximum) of the flow's last packet: LRU order. */
export const F_ACTIVE = 0;
export const F_LAST_TS = 1;
/** First packet time per direction (+ dir), NaN = none. */
export const F_DIR_FIRST_TS = 2;
/** Frame bytes per direction (+ dir). */
export const F_BYTES = 4;
/** Transport payload bytes per direction (+ dir). */
export const F_PAYLOAD = 6;
export const F_WORDS = 8;

// ---- Cold Float64 words per row (g64) ----
export const G_FIRST_TS = 0;
/** TCP handshake times, NaN = none. */
export const G_SYN_TS = 1;
export const G_SYNACK_TS = 2;
export const G_SYN_TO_SYNACK = 3;
export const G_SYNACK_TO_ACK = 4;
export const G_WORDS = 5;

export class FlowColumns {
  u32: Uint32Array;
  /**
   * The same words as signed integers: keys, links, ports and IPv4 addresses
   * are compared through this view so values >= 2^31 never become heap numbers.
   */
  i32: Int32Array;
  x32: Uint32Array;
  f64: Float64Array;
  g64: Float64Array;

  constructor(public capacity: number) {
    this.u32 = new Uint32Array(capacity * U_WORDS);
    this.i32 = new Int32Array(this.u32.buffer);
    this.x32 = new Uint32Array(capacity * X_WORDS);
    this.f64 = new Float64Array(capacity * F_WORDS);
    this.g64 = new Float64Array(capacity * G_WORDS);
  }

  /** Grow to `capacity` rows, keeping the existing ones. */
  grow(capacity: number): void {
    const u32 = new Uint32Array(capacity * U_WORDS);
    const x32 = new Uint32Array(capacity * X_WORDS);
    const f64 = new Float64Array(capacity * F_WORDS);
    const g64 = new Float64Array(capacity * G_WORDS);
    u32.set(this.u32);
    x32.set(this.x32);
    f64.set(this.f64);
    g64.set(this.g64);
    this.u32 = u32;
    this.i32 = new Int32Array(u32.buffer);
    this.x32 = x32;
    this.f64 = f64;
    this.g64 = g64;
    this.capacity = capacity;
  }

  /**
   * Zero a row for a new flow (the "none" times are NaN). The evidence frames
   * are not cleared (only the first `count` are read), nor the TCP tracker of
   * a flow without one: a new UDP flow does not touch its cold words at all.
   */
  clear(slot: number, tcp: boolean): void {
    const u32 = this.u32;
    for (let i = slot * U_WORDS, end = i + U_WORDS; i < end; i++) u32[i] = 0;
    if (tcp) {
      const x32 = this.x32;
      for (let i = slot * X_WORDS + X_TCP, end = i + TCP_WORDS; i < end; i++) x32[i] = 0;
    }
    const f = slot * F_WORDS;
    const f64 = this.f64;
    for (let i = f; i < f + F_WORDS; i++) f64[i] = 0;
    f64[f + F_DIR_FIRST_TS] = f64[f + F_DIR_FIRST_TS + 1] = NaN;
    const g = slot * G_WORDS;
    const g64 = this.g64;
    g64[g + G_FIRST_TS] = 0;
    g64[g + G_SYN_TS] = g64[g + G_SYNACK_TS] = g64[g + G_SYN_TO_SYNACK] = g64[g + G_SYNACK_TO_ACK] = NaN;
  }

  /** Copy row `from` of `src` into row `to` of this. */
  copyRow(src: FlowColumns, from: number, to: number): void {
    copyWords(src.u32, this.u32, from, to, U_WORDS);
    copyWords(src.x32, this.x32, from, to, X_WORDS);
    copyWords(src.f64, this.f64, from, to, F_WORDS);
    copyWords(src.g64, this.g64, from, to, G_WORDS);
  }
}

/** Row `from` of one column into row `to` of another, `words` per row (a loop: a subarray per call would allocate). */
function copyWords<T extends Uint32Array | Float64Array>(src: T, dst: T, from: number, to: number, words: number): void {
  for (let i = 0, a = from * words, b = to * words; i < words; i++) dst[b + i] = src[a + i];
}

/** Rows per arena of ended (or stand-alone) flows. */
const ARENA_ROWS = 1024;

/**
 * Rows for flows that are not in a table: ended flows, and flows made by
 * newFlow(). Arenas are never reused; one is freed when no record points at it.
 */
class RowArena {
  cols = new FlowColumns(ARENA_ROWS);
  private used = 0;

  /** An unused row of `this.cols`, to be copied into or cleared (read `cols` after the call: a full arena is replaced). */
  takeRow(): number {
    if (this.used === ARENA_ROWS) {
      this.cols = new FlowColumns(ARENA_ROWS);
      this.used = 0;
    }
    return this.used++;
  }
}

export const detachedRows = new RowArena();
