/**
 * One benchmark stage in its own process, so peak RSS is the stage's own.
 * bench/run.ts bundles this file (and what it imports) with esbuild and runs it
 * with plain node: `node bench/out/stage.mjs <stage> <file>`.
 * Stages: read | decode | flows | pipeline (see docs/benchmark.md).
 * Prints one JSON line: { packets, seconds }; seconds exclude start-up and module loading.
 * The pipeline stage adds `phases` (see Phases).
 */
import { readCapture } from '../src/capture/read.js';
import { decodePacket } from '../src/decode/index.js';
import { PacketView } from '../src/decode/view.js';

type Run = () => Promise<number>;

/**
 * Where a pipeline run's time goes, from the engine's progress events (one per
 * ~100 ms while reading, one at each phase change): seconds reading packets,
 * seconds after the last packet (flushing the live flows, findings, report),
 * the packet rate over the second half of the reading, and `warmupS`, the
 * reading time that rate does not explain (interpreter and baseline code
 * while V8 compiles, recompiles after deoptimization).
 */
interface Phases {
  readingS: number;
  endS: number;
  steadyPps: number;
  warmupS: number;
}
let phases: Phases | undefined;

const [stage, file] = process.argv.slice(2);

const read: Run = async () => {
  let n = 0;
  await readCapture(file, () => {
    n++;
  });
  return n;
};

const decode: Run = async () => {
  const view = new PacketView();
  let n = 0;
  await readCapture(file, (p) => {
    decodePacket(view, p.buf!, p.linkType, p.dataOff, p.dataOff! + p.caplen);
    n++;
  });
  return n;
};

/** Read, decode, flow table, DNS names and the classification of every flow; no other analyzer. */
async function flows(): Promise<Run> {
  const { FlowTable } = await import('../src/flow/table.js');
  const { Classifier } = await import('../src/classify/classify.js');
  const { NameMap } = await import('../src/classify/names.js');
  const { DnsAnalyzer } = await import('../src/analyze/dns-analyzer.js');
  const { SPOKE_TWILIO_POLICY } = await import('../src/policy/spoke-twilio.js');
  type Context = import('../src/engine/analyzer.js').PacketContext;
  return async () => {
    const names = new NameMap();
    const classifier = new Classifier(SPOKE_TWILIO_POLICY, { names });
    const dns = new DnsAnalyzer(names);
    let classified = 0;
    const table = new FlowTable({
      onNew: (flow) => {
        flow.dnsName = names.lookupFlow(flow, 'server', flow.firstTs);
      },
      onEnd: (flow) => {
        flow.dnsName ??= names.lookupFlow(flow, 'server', flow.firstTs);
        classifier.classify(flow);
        dns.onFlowEnd(flow);
        if (flow.cls !== null) classified++;
        flow.release?.(); // as the engine does once a flow is reported
      },
    });
    const view = new PacketView();
    const ctx: Context = { frame: 0, ts: 0, pkt: undefined as unknown as Context['pkt'], view, flow: null, dir: 0, depth: 0, weird: () => {} };
    let n = 0;
    await readCapture(file, (p) => {
      const ts = p.tsSec + p.tsNsec / 1e9;
      decodePacket(view, p.buf!, p.linkType, p.dataOff, p.dataOff! + p.caplen);
      ctx.frame = ++n;
      ctx.ts = ts;
      if (ctx.pkt !== p) ctx.pkt = p;
      view.ts = ts;
      ctx.flow = table.update(view, n, p.origLen);
      ctx.dir = table.dir;
      dns.onPacket(ctx);
    });
    table.flush();
    dns.finish();
    if (classified === 0) throw new Error('no flow was classified');
    return n;
  };
}

/** Loads the stage's modules (not timed) and returns the timed work. */
async function prepare(): Promise<Run> {
  switch (stage) {
    case 'read':
      return read;
    case 'decode':
      return decode;
    case 'flows':
      return flows();
    case 'pipeline': {
      const { analyze } = await import('../src/engine/engine.js');
      return async () => {
        const t0 = performance.now();
        const samples: Array<[number, number]> = [];
        let analyzingAt = 0;
        const report = await analyze({
          inputs: [file],
          onProgress: (p) => {
            if (p.phase === 'reading') samples.push([performance.now(), p.packets]);
            else if (p.phase === 'analyzing' && analyzingAt === 0) analyzingAt = performance.now();
          },
        });
        const end = performance.now();
        const packets = report.capture.packets;
        // The rate between the samples nearest the middle and the end of the reading.
        const mid = samples.find(([t]) => t >= (t0 + analyzingAt) / 2);
        if (mid !== undefined && analyzingAt > mid[0]) {
          const steadyPps = (packets - mid[1]) / ((analyzingAt - mid[0]) / 1000);
          const readingS = (analyzingAt - t0) / 1000;
          phases = { readingS, endS: (end - analyzingAt) / 1000, steadyPps, warmupS: Math.max(0, readingS - packets / steadyPps) };
        }
        return packets;
      };
    }
    default:
      throw new Error(`unknown stage ${stage}: use read, decode, flows or pipeline`);
  }
}

const run = await prepare();
const t0 = performance.now();
const packets = await run();
console.log(JSON.stringify({ packets, seconds: (performance.now() - t0) / 1000, phases }));
