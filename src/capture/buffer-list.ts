/**
 * FIFO of input chunks (tar-stream's BufferList). `peek(n)` exposes the next n
 * bytes as `buf[pos .. pos+n)`: the head chunk itself when they fit in it (the
 * common case, no copy), otherwise a copy into a reused scratch buffer.
 */
export class BufferList {
  /** Bytes buffered and not yet consumed. */
  length = 0;
  /** Set by peek(): the bytes start at buf[pos]. */
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;

  private chunks: Uint8Array[] = [];
  /** Read position inside chunks[0]. */
  private headPos = 0;
  private scratch = new Uint8Array(0);

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // A plain Uint8Array view: Buffer#subarray goes through Buffer's species constructor, several times slower per packet.
    this.chunks.push(Object.getPrototypeOf(chunk) === Uint8Array.prototype ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    this.length += chunk.length;
  }

  /** The first buffered chunk (length > 0): its bytes from headOffset on are the next ones. */
  get head(): Uint8Array {
    return this.chunks[0];
  }

  get headOffset(): number {
    return this.headPos;
  }

  /** Make the next n bytes (n <= length) addressable as buf[pos..pos+n). */
  peek(n: number): void {
    const head = this.chunks[0];
    if (head.length - this.headPos >= n) {
      this.buf = head;
      this.pos = this.headPos;
      return;
    }
    if (this.scratch.length < n) this.scratch = new Uint8Array((n + 4095) & ~4095);
    let filled = 0;
    let from = this.headPos;
    for (let i = 0; filled < n; i++) {
      const c = this.chunks[i];
      const take = Math.min(c.length - from, n - filled);
      this.scratch.set(c.subarray(from, from + take), filled);
      filled += take;
      from = 0;
    }
    this.buf = this.scratch;
    this.pos = 0;
  }

  /** Drop n bytes (n <= length) from the front. */
  consume(n: number): void {
    this.length -= n;
    while (n > 0) {
      const left = this.chunks[0].length - this.headPos;
      if (n < left) {
        this.headPos += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.headPos = 0;
    }
  }

  /** Some bytes of this memory are still buffered (so the caller must not overwrite it yet). */
  holds(memory: ArrayBufferLike): boolean {
    for (let i = 0; i < this.chunks.length; i++) if (this.chunks[i].buffer === memory) return true;
    return false;
  }

  /** Bytes allocated for copies across chunk boundaries (bounded by the largest record peeked). */
  get scratchSize(): number {
    return this.scratch.length;
  }
}
