/**
 * Streams a capture file (or stdin, '-') through CaptureParser in chunks,
 * gunzipping on the fly when the input starts with the gzip magic.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

const OPEN_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

function openError(input: string, err: unknown): CaptureOpenError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const why = OPEN_ERRORS[code] ?? (err as Error).message;
  return new CaptureOpenError(`cannot read capture ${input}: ${why}`, input);
}

/** Reads one capture to the end, delivering every packet synchronously to onPacket. */
export async function readCapture(input: string, onPacket: PacketSink, opts: ReadOptions = {}): Promise<SourceInfo> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  let raw: Readable;
  let total: number | null = null;
  if (input === '-') {
    raw = process.stdin;
  } else {
    try {
      const st = await stat(input);
      if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      total = st.isFile() ? st.size : null;
    } catch (err) {
      throw openError(input, err);
    }
    raw = createReadStream(input, { highWaterMark: chunkSize });
  }

  const parser = new CaptureParser(input === '-' ? 'stdin' : input, onPacket, opts.onName);
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
      if (parser.stopped) break;
      if (opts.signal?.aborted) {
        parser.info.warnings.push(`reading stopped on request after ${parser.info.packets} packets`);
        break;
      }
    }
  } catch (err) {
    if (err instanceof CaptureOpenError) throw err;
    const why = (err as Error).message;
    parser.abort(gzip ? `gzip stream is corrupt after ${compressedRead} compressed bytes: ${why}` : `read error: ${why}`);
  } finally {
    source.destroy();
    if (input !== '-') raw.destroy();
  }
  // Stopped on request: what was read is complete, the record we stopped in is not a truncation.
  if (opts.signal?.aborted) parser.stop();
  parser.end();
  return parser.info;
}
