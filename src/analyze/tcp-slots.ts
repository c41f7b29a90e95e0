/**
 * The numbers of parked TCP connections (see tls-analyzer.ts), one slot of
 * SLOT_WORDS int32s each, in fixed-size Int32Array chunks. A connection
 * waiting for its peer then costs 28 bytes and no object: tens of thousands
 * of them are live at once in a long capture. Freed slots are reused, so the
 * table is as big as the most connections parked at one time.
 */

/** Connection flags (low 8 bits) and each direction's parser state (8 bits each, client then server). */
export const SLOT_FLAGS = 0;
/** Per direction (SLOT_DIR + 3 * dir): origin sequence number, stream position, handshake record bytes left. */
export const SLOT_DIR = 1;
export const SLOT_WORDS = 7;

/** Slot s is at chunks[s >>> CHUNK_SHIFT], words from (s & (CHUNK_SLOTS - 1)) * SLOT_WORDS. */
export const CHUNK_SHIFT = 12;
export const CHUNK_SLOTS = 1 << CHUNK_SHIFT;

export class TcpSlots {
  /**
   * Read directly on the TLS analyzer's per-packet path (one chunk load per
   * packet instead of one per accessor call); a chunk, once made, stays.
   */
  readonly chunks: Int32Array[] = [];
  /** Slots handed out so far (free or not). */
  private used = 0;
  /** First free slot; a free slot's flags word holds the next one; -1 when none. */
  private freeHead = -1;
  private live = 0;

  /** Slots in use. */
  get size(): number {
    return this.live;
  }

  /** A slot with every word 0. */
  alloc(): number {
    this.live++;
    const slot = this.freeHead;
    if (slot >= 0) {
      const words = this.chunk(slot);
      const at = this.base(slot);
      this.freeHead = words[at + SLOT_FLAGS];
      words.fill(0, at, at + SLOT_WORDS);
      return slot;
    }
    if (this.used >>> CHUNK_SHIFT === this.chunks.length) this.chunks.push(new Int32Array(CHUNK_SLOTS * SLOT_WORDS));
    return this.used++;
  }

  /** Give a slot back; it must not be used again. */
  free(slot: number): void {
    this.live--;
    this.chunk(slot)[this.base(slot) + SLOT_FLAGS] = this.freeHead;
    this.freeHead = slot;
  }

  /** The connection flags. */
  flags(slot: number): number {
    return this.chunk(slot)[this.base(slot) + SLOT_FLAGS] & 0xff;
  }

  addFlags(slot: number, flags: number): void {
    this.chunk(slot)[this.base(slot) + SLOT_FLAGS] |= flags & 0xff;
  }

  origin(slot: number, dir: number): number {
    return this.chunk(slot)[this.base(slot) + SLOT_DIR + 3 * dir];
  }

  setOrigin(slot: number, dir: number, origin: number): void {
    this.chunk(slot)[this.base(slot) + SLOT_DIR + 3 * dir] = origin;
  }

  position(slot: number, dir: number): number {
    return this.chunk(slot)[this.base(slot) + SLOT_DIR + 3 * dir + 1];
  }

  recordRemaining(slot: number, dir: number): number {
    return this.chunk(slot)[this.base(slot) + SLOT_DIR + 3 * dir + 2];
  }

  /** A direction's parser state (8 bits). */
  parserState(slot: number, dir: number): number {
    return (this.chunk(slot)[this.base(slot) + SLOT_FLAGS] >>> (8 + 8 * dir)) & 0xff;
  }

  /** Save a direction's parser: position, record bytes left, state (8 bits). */
  park(slot: number, dir: number, position: number, recordRemaining: number, state: number): void {
    const words = this.chunk(slot);
    const at = this.base(slot);
    const shift = 8 + 8 * dir;
    words[at + SLOT_FLAGS] = (words[at + SLOT_FLAGS] & ~(0xff << shift)) | ((state & 0xff) << shift);
    words[at + SLOT_DIR + 3 * dir + 1] = position;
    words[at + SLOT_DIR + 3 * dir + 2] = recordRemaining;
  }

  private chunk(slot: number): Int32Array {
    return this.chunks[slot >>> CHUNK_SHIFT];
  }

  private base(slot: number): number {
    return (slot & (CHUNK_SLOTS - 1)) * SLOT_WORDS;
  }
}
