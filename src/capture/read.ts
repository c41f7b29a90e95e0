/**
 * Streams a capture file (or stdin, '-') through CaptureParser in chunks,
 * gunzipping on the fly when the input starts with the gzip magic.
 */
import { createReadStream, fstatSync, read as fsRead } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CaptureParser } from './parser.js';
import { CaptureOpenError, type PacketSink, type SourceInfo } from './types.js';

export interface ReadOptions {
  /** Called after every chunk with compressed bytes read so far and the file size (null for stdin). */
  onProgress?: (bytesRead: number, bytesTotal: number | null) => void;
  /** Stops reading; the promise resolves with what was read so far and a warning. */
  signal?: AbortSignal;
  /** Read size in bytes (default 1 MiB). */
  chunkSize?: number;
  /** pcapng name-resolution records, as soon as they are read. */
  onName?: (entry: { ip: string; names: string[] }) => void;
}

const DEFAULT_CHUNK = 1 << 20;
/** File reads kept in flight. */
const READ_AHEAD = 3;

/** Why a capture cannot be opened, and what to do about it. */
const OPEN_ERRORS: Record<string, string> = {
  ENOENT: 'no such file: check the path',
  EACCES: 'permission denied: make the file readable (or run as its owner)',
  EPERM: 'permission denied: make the file readable (or run as its owner)',
  EISDIR: 'it is a directory: name the capture file inside it',
  ELOOP: 'too many symbolic links: name the file itself',
  ENAMETOOLONG: 'the name is too long: rename or move the file',
};

function openError(input: string, err: unknown): CaptureOpenError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const why = OPEN_ERRORS[code] ?? (err as Error).message;
  return new CaptureOpenError(`cannot read capture ${input}: ${why}`, input);
}

/** Reads one capture to the end, delivering every packet synchronously to onPacket. */
export async function readCapture(input: string, onPacket: PacketSink, opts: ReadOptions = {}): Promise<SourceInfo> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  const parser = new CaptureParser(input === '-' ? 'stdin' : input, onPacket, opts.onName);
  if (input === '-') return readStdin(parser, opts, chunkSize);
  let total: number | null;
  try {
    const st = await stat(input);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    total = st.isFile() ? st.size : null;
  } catch (err) {
    throw openError(input, err);
  }
  if (total !== null) {
    let fh: FileHandle;
    try {
      fh = await open(input, 'r');
    } catch (err) {
      throw openError(input, err);
    }
    try {
      const read: ReadAt = (buffer, length, position) => fh.read(buffer, 0, length, position);
      if ((await readFile(read, READ_AHEAD, total, parser, opts, chunkSize)) === true) return finish(parser, opts);
    } finally {
      await fh.close();
    }
  }
  // gzip, pipes and devices
  return readStream(createReadStream(input, { highWaterMark: chunkSize }), input, total, parser, opts, chunkSize);
}

/**
 * Standard input. A regular file redirected to it (`spokecap - < capture.pcap`)
 * is read like a named file, from where its offset stands, one read ahead:
 * Node's stdin stream delivers it in 64 KiB chunks, ~3x slower (1.58 s against
 * 0.55 s for the 3 M-packet bench file). Pipes and terminals go through the stream.
 */
async function readStdin(parser: CaptureParser, opts: ReadOptions, chunkSize: number): Promise<SourceInfo> {
  let size: number | null = null;
  try {
    const st = fstatSync(0);
    if (st.isFile()) size = st.size;
  } catch {
    // no usable descriptor 0: the stream reports it
  }
  if (size === null) return readStream(process.stdin, '-', null, parser, opts, chunkSize);
  // Sequential reads (no position): the shell may have left the offset anywhere.
  const read: ReadAt = (buffer, length) =>
    new Promise((resolve, reject) => fsRead(0, buffer, 0, length, null, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead }))));
  const first = await readFile(read, 1, size, parser, opts, chunkSize);
  if (first === true) return finish(parser, opts);
  // gzip: its first chunk is already read, so the stream starts with it.
  const rest = createReadStream('', { fd: 0, autoClose: false, highWaterMark: chunkSize });
  return readStream(Readable.from(prepend(first, rest)), '-', size, parser, opts, chunkSize);
}

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

/** One read of up to `length` bytes into `buffer` at file position `position` (ignored by sequential readers). */
type ReadAt = (buffer: Buffer, length: number, position: number) => Promise<{ bytesRead: number }>;

/**
 * A regular file, uncompressed: `ahead` reads in flight into reused buffers
 * while the current chunk is parsed (on a virtual disk one read at a time
 * leaves the parser waiting, and a fresh buffer per read costs more than the
 * read). A buffer is reused once it is neither in flight, nor being parsed,
 * nor holding bytes the parser still needs. A sequential reader must have
 * ahead = 1, so that reads complete in order.
 * Returns true when done; when the file starts with the gzip magic, the first
 * chunk read, having delivered nothing.
 */
async function readFile(read: ReadAt, ahead: number, total: number, parser: CaptureParser, opts: ReadOptions, chunkSize: number): Promise<true | Buffer> {
  // Steady state: `ahead` in flight, one being parsed, the previous one holding a record cut at its end.
  const owned: Buffer[] = [];
  const inFlight: Array<{ buffer: Buffer; at: number; read: Promise<{ bytesRead: number }> }> = [];
  let parsing: Buffer | null = null;
  const free = (b: Buffer): boolean => b !== parsing && !inFlight.some((r) => r.buffer === b) && !parser.retains(b);
  let issued = 0;
  const issue = (): void => {
    let buffer = owned.find(free);
    if (buffer === undefined) {
      buffer = readBuffer(chunkSize);
      if (owned.length < ahead + 2) owned.push(buffer);
    }
    inFlight.push({ buffer, at: issued, read: read(buffer, chunkSize, issued) });
    issued += chunkSize;
  };
  const settle = async (): Promise<void> => {
    // Reads still in flight must finish before the file is closed; their data is not used.
    await Promise.allSettled(inFlight.splice(0).map((r) => r.read));
  };
  for (let i = 0; i < ahead; i++) issue();
  let first = true;
  try {
    for (;;) {
      const { buffer, at, read } = inFlight.shift()!;
      parsing = buffer;
      let got: number;
      try {
        got = (await read).bytesRead;
      } catch (err) {
        await settle();
        if (first) throw openError(parser.path, err);
        parser.abort(`read error: ${(err as Error).message}`);
        return true;
      }
      // Returned uncopied: the reads still in flight go into other buffers.
      if (first && got >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return buffer.subarray(0, got);
      first = false;
      if (got === 0) return true;
      if (got < chunkSize) {
        // A short read: the reads issued after it start at the wrong place.
        await settle();
        issued = at + got;
      }
      issue();
      opts.onProgress?.(Math.min(at + got, total), total);
      // The buffer itself when full, not a new view of it: the packet views store it per packet, and
      // a view made per chunk is always in the young generation, so every one of those stores took
      // the garbage collector's slow write barrier (the reused buffers are old after two scavenges).
      parser.push(got === buffer.length ? buffer : buffer.subarray(0, got));
      if (parser.stopped || opts.signal?.aborted) return true;
    }
  } finally {
    await settle();
  }
}

/**
 * A read buffer whose start lies half a page past a page boundary. Reads land
 * at file offsets that are multiples of the chunk size, so the kernel copies
 * from page-aligned page-cache memory; when the destination's address is only
 * a few bytes past a page boundary too (as a fresh large allocation's is:
 * malloc's 16-byte header), AMD's copy loop stalls on 4K aliasing and the read
 * takes 4-5x the system time (docs/reader.md).
 */
function readBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size + 4096).subarray(2048, 2048 + size);
}

/** Chunks from a stream (stdin, a pipe, a gzip file), gunzipped when they start with the gzip magic. */
async function readStream(
  raw: Readable,
  input: string,
  total: number | null,
  parser: CaptureParser,
  opts: ReadOptions,
  chunkSize: number,
): Promise<SourceInfo> {
  const chunks = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let compressedRead = 0;

  // Counts compressed bytes for progress; the first chunk is re-yielded after sniffing it.
  async function* counted(first: Buffer): AsyncGenerator<Buffer> {
    yield first;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      compressedRead += next.value.length;
      opts.onProgress?.(compressedRead, total);
      yield next.value;
    }
  }

  let first: IteratorResult<Buffer>;
  try {
    first = await chunks.next();
  } catch (err) {
    throw openError(input, err);
  }
  if (first.done) {
    parser.end(); // throws CaptureOpenError: empty input
    return parser.info;
  }
  compressedRead = first.value.length;
  opts.onProgress?.(compressedRead, total);
  const gzip = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  parser.info.gzip = gzip;
  const source: Readable = gzip
    ? Readable.from(counted(first.value)).pipe(createGunzip({ chunkSize: Math.min(chunkSize, 1 << 20) }))
    : Readable.from(counted(first.value), { objectMode: true });

  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      parser.push(chunk);
      if (parser.stopped || opts.signal?.aborted) break;
    }
  } catch (err) {
    if (err instanceof CaptureOpenError) throw err;
    const why = (err as Error).message;
    parser.abort(gzip ? `gzip stream is corrupt after ${compressedRead} compressed bytes: ${why}` : `read error: ${why}`);
  } finally {
    source.destroy();
    if (input !== '-') raw.destroy();
  }
  return finish(parser, opts);
}

function finish(parser: CaptureParser, opts: ReadOptions): SourceInfo {
  if (opts.signal?.aborted && !parser.stopped) {
    parser.info.warnings.push(`reading stopped on request after ${parser.info.packets} packets`);
    // What was read is complete: the record we stopped in is not a truncation.
    parser.stop();
  }
  parser.end();
  return parser.info;
}
