/**
 * A minimal pipeline for analyzer tests: reader → decoder → FlowTable →
 * the given analyzers (outer packets only, no decapsulation, no
 * classification). Returns every flow once it ended, and the weirds counted.
 */
import { readCapture } from '../../src/capture/read.js';
import { decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/view.js';
import { FlowTable } from '../../src/flow/table.js';
import type { Analyzer, PacketContext } from '../../src/engine/analyzer.js';
import type { Flow } from '../../src/flow/flow.js';

export interface MiniRun {
  flows: Flow[];
  weirds: Record<string, number>;
  packets: number;
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
  await readCapture(path, (pkt) => {
    frame++;
    decodePacket(view, pkt.data, pkt.linkType);
    const ts = pkt.tsSec + pkt.tsNsec / 1e9;
    ctx.frame = frame;
    ctx.ts = ts;
    ctx.pkt = pkt;
    ctx.flow = table.update(view, ts, frame, pkt.origLen);
    ctx.dir = table.dir;
    for (const a of analyzers) a.onPacket?.(ctx);
  });
  table.flush();
  for (const a of analyzers) a.finish?.();
  return { flows, weirds, packets: frame };
}
