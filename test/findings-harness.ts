/**
 * Runs a capture through decode → flow table → the given analyzers with the
 * engine's decapsulation loop, without the rest of the engine: detector tests
 * then depend only on the decoder and the flow table.
 */
import { readCapture } from '../src/capture/read.js';
import type { RawPacket } from '../src/capture/types.js';
import { decodeAt, decodePacket } from '../src/decode/index.js';
import { PacketView } from '../src/decode/view.js';
import type { Analyzer, PacketContext } from '../src/engine/analyzer.js';
import type { Flow } from '../src/flow/flow.js';
import { FlowTable } from '../src/flow/table.js';
import { innerPacket } from '../src/analyze/tunnel.js';

const MAX_DEPTH = 3;

export interface HarnessResult {
  flows: Flow[];
  packets: number;
}

/** `beforeEnd` runs on each flow before the analyzers' onFlowEnd (where the engine classifies). */
export async function runAnalyzers(path: string, analyzers: Analyzer[], beforeEnd?: (flow: Flow) => void): Promise<HarnessResult> {
  const flows: Flow[] = [];
  const table = new FlowTable({
    hashSeed: 1,
    onEnd: (flow) => {
      beforeEnd?.(flow);
      for (const a of analyzers) a.onFlowEnd?.(flow);
      flows.push(flow);
    },
  });
  const views = Array.from({ length: MAX_DEPTH + 1 }, () => new PacketView());
  let frame = 0;
  const layer = (depth: number, pkt: RawPacket, ts: number, outerFlow: PacketContext['flow'] = null): void => {
    const view = views[depth];
    view.ts = ts;
    const ctx: PacketContext = {
      frame,
      ts,
      pkt,
      view,
      flow: view.ipVersion !== 0 ? table.update(view, frame, pkt.origLen) : null,
      dir: 0,
      depth,
      weird: () => {},
      outerFlow,
    };
    ctx.dir = table.dir;
    for (const a of analyzers) a.onPacket?.(ctx);
    if (depth < MAX_DEPTH && view.ipVersion !== 0) {
      const inner = innerPacket(view);
      if (inner) {
        decodeAt(views[depth + 1], view.buf, inner.off, inner.end, inner.kind);
        layer(depth + 1, pkt, ts, depth === 0 ? ctx.flow : outerFlow);
      }
    }
  };
  await readCapture(path, (pkt) => {
    frame++;
    decodePacket(views[0], pkt.data, pkt.linkType);
    layer(0, pkt, pkt.tsSec + pkt.tsNsec / 1e9);
  });
  table.flush();
  for (const a of analyzers) a.finish?.();
  return { flows, packets: frame };
}

export const FIXTURES = new URL('./fixtures/public/', import.meta.url).pathname;
