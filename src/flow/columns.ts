/**
 * Flow counters and table bookkeeping as typed-array columns, one fixed-size
 * row ("slot") per flow: a live flow costs ~300 bytes here, none of which the
 * garbage collector has to trace, and a packet's lookup and counting touch a
 * few adjacent cache lines instead of a dozen small objects.
 * A FlowRecord points at its columns and slot; when its flow ends the row is
 * copied into an arena of ended rows so the record stays readable while the
 * live slot is reused.
 */

// ---- Uint32 words per row ----
/** Packets per direction (+ dir). */
export const U_PACKETS = 0;
export const U_FIRST_FRAME = 2;
export const U_LAST_FRAME = 3;
/** The flow's 30-bit hash key. */
export const U_KEY = 4;
/** LRU neighbours and the next row in the same hash bucket, as slot + 1 (0 = none). */
export const U_PREV = 5;
export const U_NEXT = 6;
export const U_CHAIN = 7;
/** IPv4 client and server addresses (0 for IPv6); compare through the i32 view. */
export const U_CLIENT4 = 8;
export const U_SERVER4 = 9;
/** clientPort << 16 | serverPort (signed: compare through the i32 view). */
export const U_PORTS = 10;
/** proto | META_* bits. */
export const U_META = 11;
export const U_EVIDENCE_COUNT = 12;
/** Evidence frame numbers (MAX_EVIDENCE_FRAMES of them). */
export const U_EVIDENCE = 13;
/** TCP tracker words (see tcp-state.ts), TCP_WORDS of them. */
export const U_TCP = 29;
export const TCP_WORDS = 20;
export const U_WORDS = U_TCP + TCP_WORDS;

export const META_IPV6 = 0x100;
/** TCP with a tracker (ports were captured). */
export const META_TCP_TRACKED = 0x200;
/** Protocol class for idle timeouts, 2 bits. */
export const META_CLASS_SHIFT = 10;

// ---- Float64 words per row ----
export const F_FIRST_TS = 0;
export const F_LAST_TS = 1;
/** First packet time per direction (+ dir), NaN = none. */
export const F_DIR_FIRST_TS = 2;
/** Frame bytes per direction (+ dir). */
export const F_BYTES = 4;
/** Transport payload bytes per direction (+ dir). */
export const F_PAYLOAD = 6;
/** Capture time (monotone maximum) of the flow's last packet: LRU order. */
export const F_ACTIVE = 8;
/** TCP handshake times, NaN = none. */
export const F_SYN_TS = 9;
export const F_SYNACK_TS = 10;
export const F_SYN_TO_SYNACK = 11;
export const F_SYNACK_TO_ACK = 12;
export const F_WORDS = 13;

export class FlowColumns {
  u32: Uint32Array;
  /**
   * The same words as signed integers: keys, links, ports and IPv4 addresses
   * are compared through this view so values >= 2^31 never become heap numbers.
   */
  i32: Int32Array;
  f64: Float64Array;

  constructor(public capacity: number) {
    this.u32 = new Uint32Array(capacity * U_WORDS);
    this.i32 = new Int32Array(this.u32.buffer);
    this.f64 = new Float64Array(capacity * F_WORDS);
  }

  /** Grow to `capacity` rows, keeping the existing ones. */
  grow(capacity: number): void {
    const u32 = new Uint32Array(capacity * U_WORDS);
    const f64 = new Float64Array(capacity * F_WORDS);
    u32.set(this.u32);
    f64.set(this.f64);
    this.u32 = u32;
    this.i32 = new Int32Array(u32.buffer);
    this.f64 = f64;
    this.capacity = capacity;
  }

  /** Zero a row for a new flow (the "none" times are NaN). */
  clear(slot: number): void {
    const u32 = this.u32;
    for (let i = slot * U_WORDS, end = i + U_WORDS; i < end; i++) u32[i] = 0;
    const f = slot * F_WORDS;
    const f64 = this.f64;
    for (let i = f; i < f + F_WORDS; i++) f64[i] = 0;
    f64[f + F_DIR_FIRST_TS] = f64[f + F_DIR_FIRST_TS + 1] = NaN;
    f64[f + F_SYN_TS] = f64[f + F_SYNACK_TS] = f64[f + F_SYN_TO_SYNACK] = f64[f + F_SYNACK_TO_ACK] = NaN;
  }

  /** Copy row `from` of `src` into row `to` of this. */
  copyRow(src: FlowColumns, from: number, to: number): void {
    const su = src.u32;
    const du = this.u32;
    for (let i = 0, a = from * U_WORDS, b = to * U_WORDS; i < U_WORDS; i++) du[b + i] = su[a + i];
    const sf = src.f64;
    const df = this.f64;
    for (let i = 0, a = from * F_WORDS, b = to * F_WORDS; i < F_WORDS; i++) df[b + i] = sf[a + i];
  }
}

/** Rows per arena of ended (or stand-alone) flows. */
const ARENA_ROWS = 256;

/**
 * Rows for flows that are not in a table: ended flows, and flows made by
 * newFlow(). Arenas are never reused; one is freed when no record points at it.
 */
class RowArena {
  cols = new FlowColumns(ARENA_ROWS);
  private used = 0;

  /** A cleared row of `this.cols` (read `cols` after the call: a full arena is replaced). */
  takeRow(): number {
    if (this.used === ARENA_ROWS) {
      this.cols = new FlowColumns(ARENA_ROWS);
      this.used = 0;
    }
    this.cols.clear(this.used);
    return this.used++;
  }
}

export const detachedRows = new RowArena();
