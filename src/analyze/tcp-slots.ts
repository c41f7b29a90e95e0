/**
 * The numbers of parked TCP connections (see tls-analyzer.ts), one slot of
 * SLOT_WORDS int32s each, in fixed-size Int32Array chunks. A connection
 * waiting for its peer then costs 28 bytes and no object: tens of thousands
 * of them are live at once in a long capture. Freed slots are reused, so the
 * table is as big as the most connections parked at one time. The analyzer
 * reads and writes a slot's words itself, through `chunks`, in the layout
 * below (one chunk load per packet instead of a call per word).
 */

/** Connection flags (low 8 bits) and each direction's parser state (bits 8 + 8 * dir). */
export const SLOT_FLAGS = 0;
/** Per direction (SLOT_DIR + 3 * dir): origin sequence number, stream position, handshake record bytes left. */
export const SLOT_DIR = 1;
export const SLOT_WORDS = 7;

/** Slot s is at chunks[s >>> CHUNK_SHIFT], words from (s & (CHUNK_SLOTS - 1)) * SLOT_WORDS. */
export const CHUNK_SHIFT = 12;
export const CHUNK_SLOTS = 1 << CHUNK_SHIFT;

export class TcpSlots {
  /** See CHUNK_SHIFT; a chunk, once made, stays. */
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

  private chunk(slot: number): Int32Array {
    return this.chunks[slot >>> CHUNK_SHIFT];
  }

  private base(slot: number): number {
    return (slot & (CHUNK_SLOTS - 1)) * SLOT_WORDS;
  }
}
