/**
 * Helpers for the application-layer differential tests: a minimal pipeline
 * (reader → decoder → FlowTable → the given analyzers; outer packets only,
 * no decapsulation, no classification) and a tshark field extractor.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readCapture } from '../../src/capture/read.js';
import { decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/view.js';
import { FlowTable } from '../../src/flow/table.js';
import type { Analyzer, PacketContext } from '../../src/engine/analyzer.js';
import type { Flow } from '../../src/flow/flow.js';

const run = promisify(execFile);

export interface MiniRun {
  flows: Flow[];
  weirds: Record<string, number>;
  packets: number;
  /** The reader's error for a damaged file (packets before it were analyzed). */
  error: string | null;
}

export async function runAnalyzers(path: string, analyzers: Analyzer[]): Promise<MiniRun> {
  const flows: Flow[] = [];
  const weirds: Record<string, number> = {};
  const table = new FlowTable({
    onEnd: (f) => {
      for (const a of analyzers) a.onFlowEnd?.(f);
      flows.push(f);
    },
  });
  const view = new PacketView();
  let frame = 0;
  const ctx: PacketContext = {
    frame: 0,
    ts: 0,
    pkt: null as never,
    view,
    flow: null,
    dir: 0,
    depth: 0,
    weird: (name) => {
      weirds[name] = (weirds[name] ?? 0) + 1;
    },
  };
  let error: string | null = null;
  const reading = readCapture(path, (pkt) => {
    frame++;
    decodePacket(view, pkt.data, pkt.linkType);
    const ts = pkt.tsSec + pkt.tsNsec / 1e9;
    ctx.frame = frame;
    ctx.ts = ts;
    ctx.pkt = pkt;
    view.ts = ts;
    ctx.flow = table.update(view, frame, pkt.origLen);
    ctx.dir = table.dir;
    for (const a of analyzers) a.onPacket?.(ctx);
  });
  await reading.catch((e: Error) => {
    error = e.message;
  });
  table.flush();
  for (const a of analyzers) a.finish?.();
  return { flows, weirds, packets: frame, error };
}

/**
 * tshark's `fields` for the frames of `path` matching `filter`: one row per
 * frame, each field a list of its occurrences (-E occurrence=a).
 */
export async function tsharkFields(path: string, filter: string, fields: readonly string[]): Promise<Array<Record<string, string[]>>> {
  const args = ['-n', '-r', path, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\u0001'];
  for (const f of fields) args.push('-e', f);
  // A damaged file makes tshark exit non-zero after printing the frames before the damage.
  const stdout = await run('tshark', args, { maxBuffer: 64 << 20 }).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  return stdout
    .split('\n')
    .filter((l) => l.length)
    .map((line) => {
      const cols = line.split('\t');
      return Object.fromEntries(fields.map((f, i) => [f, cols[i] ? cols[i].split('\u0001') : []]));
    });
}

/** Map over items with at most `limit` promises in flight (tshark start-up dominates). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
