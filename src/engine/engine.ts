/**
 * The engine: source → decoders → flow table → classification → analyses →
 * findings → Report. The only place where the stages meet.
 */
import { readCapture } from '../capture/read.js';
import { newInfo } from '../capture/parser.js';
import { CaptureOpenError, type RawPacket, type SourceInfo } from '../capture/types.js';
import { decodeAt, decodePacket } from '../decode/index.js';
import { PacketView } from '../decode/view.js';
import { FlowTable } from '../flow/table.js';
import type { Flow } from '../flow/flow.js';
import { Classifier } from '../classify/classify.js';
import { InternalNets, DEFAULT_INTERNAL } from '../classify/internal.js';
import { NameMap } from '../classify/names.js';
import { SPOKE_TWILIO_POLICY } from '../policy/spoke-twilio.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { DnsAnalyzer } from '../analyze/dns-analyzer.js';
import { TlsAnalyzer } from '../analyze/tls-analyzer.js';
import { MediaAnalyzer } from '../analyze/media/media-analyzer.js';
import { TunnelAnalyzer, innerPacket } from '../analyze/tunnel.js';
import { VdiAnalyzer } from '../analyze/vdi.js';
import { FindingsCollector, buildFindings } from '../findings/index.js';
import type { Analyzer, PacketContext } from './analyzer.js';
import { SCHEMA, type Report, type ReportCapture } from '../report/schema.js';
import { isoTime, round, toReportSource } from '../report/build.js';
import { ReportFlowStore, withStoredFlows } from '../report/flow-store.js';
import { VERSION } from './version.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface AnalyzeOptions {
  inputs: string[];
  policy?: Policy;
  policyPath?: string;
  internal?: string[];
  edge?: string;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Live flows kept at once (the flow table's cap). */
  maxFlows?: number;
  /** Flows written into the report; the rest are counted in summary.flowsOmitted. */
  maxReportFlows?: number;
}

export interface Progress {
  phase: 'reading' | 'analyzing' | 'done';
  input: string;
  inputIndex: number;
  inputs: number;
  bytesRead: number;
  bytesTotal: number | null;
  packets: number;
  flows: number;
  rtpStreams: number;
  /** Calls are grouped at the end of the analysis: null until then. */
  calls: number | null;
  elapsedS: number;
}

const MAX_DEPTH = 3;
const PROGRESS_INTERVAL_MS = 100;

/** Policy, classifier (with the pinned edge) and internal networks from options, with usage errors in one sentence. */
export function resolveSettings(
  opts: Pick<AnalyzeOptions, 'policy' | 'policyPath' | 'internal' | 'edge'>,
  names: NameMap,
): { policy: Policy; classifier: Classifier; edge: string; internal: InternalNets; internalCidrs: string[] } {
  let policy = opts.policy ?? SPOKE_TWILIO_POLICY;
  if (opts.policyPath) {
    try {
      policy = loadPolicy(opts.policyPath);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  // The classifier owns edge names (ids and aliases such as "ashburn"): it validates --edge.
  let classifier: Classifier;
  try {
    classifier = new Classifier(policy, { edge: opts.edge, names });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}: pass one of them to --edge`);
  }
  const internalCidrs = opts.internal && opts.internal.length ? opts.internal : [...DEFAULT_INTERNAL];
  let internal: InternalNets;
  try {
    internal = new InternalNets(internalCidrs);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { policy, classifier, edge: classifier.pinnedEdge, internal, internalCidrs };
}

export async function analyze(opts: AnalyzeOptions): Promise<Report> {
  if (!opts.inputs.length) throw new UsageError('no capture given: run spokecap <capture.pcap> (or - for stdin)');
  const names = new NameMap();
  const { policy, classifier, edge, internal, internalCidrs } = resolveSettings(opts, names);
  const started = Date.now();

  const dns = new DnsAnalyzer(names);
  const tls = new TlsAnalyzer();
  const media = new MediaAnalyzer({ policy, internal });
  const tunnel = new TunnelAnalyzer({ internal });
  const vdi = new VdiAnalyzer();
  // Capture time span: [first, last], meaningless until a packet was read (frame > 0). In a
  // Float64Array so that updating it per packet boxes no number; the findings read it too.
  const span = Float64Array.of(Infinity, -Infinity);
  const collector = new FindingsCollector({ policy, classifier, internal, edge, span });
  // The analyzers run in this order, per packet and per flow end (direct calls on concrete
  // classes: one shape per call site, which V8 can inline, instead of a loop over an interface).
  const analyzers: Analyzer[] = [dns, tls, media, tunnel, vdi, collector];

  const maxReportFlows = opts.maxReportFlows ?? 20_000;
  // Compact until the report's flows are read: most of up to 40 000 end while the flow table is still full.
  const reportFlows = new ReportFlowStore();
  let flowsOmitted = 0;
  let flowsTotal = 0;
  // A Map, not an object: a keyed store of a class name first seen late (TLS flows end at the flush)
  // deoptimized endFlow, compiled with the names seen until then.
  const byClass = new Map<string, number>();

  // pcapng name-resolution records: what the capturing host had resolved, used when DNS saw nothing.
  const nrb = new NameMap({ maxEntries: 10_000 });
  const nameFor = (flow: Flow): void => {
    if (flow.dnsName) return;
    const n = names.lookupFlow(flow, 'server', flow.firstTs);
    if (n) {
      flow.dnsName = n;
      flow.dnsNameSource = 'dns';
      return;
    }
    const r = nrb.lookupFlow(flow, 'server', Infinity);
    if (r) {
      flow.dnsName = r;
      flow.dnsNameSource = 'nrb';
    }
  };

  const endFlow = (flow: Flow): void => {
    nameFor(flow);
    classifier.classify(flow);
    dns.onFlowEnd(flow);
    tls.onFlowEnd(flow);
    media.onFlowEnd(flow);
    tunnel.onFlowEnd(flow);
    vdi.onFlowEnd(flow);
    collector.onFlowEnd(flow);
    flowsTotal++;
    const cls = flow.cls ?? 'other';
    byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
    // Keep every non-"other" flow up to twice the cap, plain ones up to the cap. Both tests made for
    // every flow: the second, first made once the report held the cap, deoptimized endFlow.
    const kept = reportFlows.length < (cls !== 'other' ? 2 * maxReportFlows : maxReportFlows);
    if (kept) reportFlows.add(flow);
    flowsOmitted += kept ? 0 : 1;
    flow.release?.();
  };

  const table = new FlowTable({
    maxFlows: opts.maxFlows,
    onEnd: endFlow,
    onNew: nameFor,
  });

  const views = Array.from({ length: MAX_DEPTH + 1 }, () => new PacketView());
  const weirds: Record<string, number> = {};
  const weird = (name: string): void => {
    weirds[name] = (weirds[name] ?? 0) + 1;
  };
  const contexts: PacketContext[] = views.map((view, depth) => ({
    frame: 0,
    ts: 0,
    pkt: undefined as unknown as RawPacket,
    view,
    flow: null,
    dir: 0,
    depth,
    weird,
    outerFlow: null,
  }));
  const malformedByReason: Record<string, number> = {};
  let malformedPackets = 0;
  let frame = 0;

  // The packet's time travels in view.ts: a double argument to a call V8 does not inline is a new heap number.
  const processLayer = (depth: number, pkt: RawPacket): void => {
    const view = views[depth];
    const ts = view.ts;
    const ctx = contexts[depth];
    ctx.frame = frame;
    ctx.ts = ts;
    if (ctx.pkt !== pkt) ctx.pkt = pkt; // the reader reuses one packet object: no write barrier per packet
    ctx.flow = view.ipVersion !== 0 ? table.update(view, frame, pkt.origLen) : null;
    ctx.dir = table.dir;
    dns.onPacket(ctx);
    tls.onPacket(ctx);
    media.onPacket(ctx);
    tunnel.onPacket(ctx);
    vdi.onPacket(ctx);
    collector.onPacket(ctx);
    if (depth < MAX_DEPTH && view.ipVersion !== 0) {
      const inner = innerPacket(view);
      if (inner) {
        const next = views[depth + 1];
        decodeAt(next, view.buf, inner.off, inner.end, inner.kind);
        if (next.malformed) weird(`inner-${next.malformed}`);
        next.ts = ts;
        // Set only for tunnelled packets: a per-packet store of the flow (often a young object) took the
        // garbage collector's slow write barrier.
        contexts[depth + 1].outerFlow = depth === 0 ? ctx.flow : ctx.outerFlow;
        processLayer(depth + 1, pkt);
      }
    }
  };

  const onPacket = (pkt: RawPacket): void => {
    frame++;
    const ts = pkt.tsSec + pkt.tsNsec / 1e9;
    const view = views[0];
    if (pkt.buf !== undefined) decodePacket(view, pkt.buf, pkt.linkType, pkt.dataOff, pkt.dataOff! + pkt.caplen);
    else decodePacket(view, pkt.data, pkt.linkType);
    if (view.malformed) {
      malformedPackets++;
      malformedByReason[view.malformed] = (malformedByReason[view.malformed] ?? 0) + 1;
    }
    view.ts = ts;
    processLayer(0, pkt);
    // After the packet's analysis: flows it ended saw the span of the packets before it.
    if (ts < span[0]) span[0] = ts;
    if (ts > span[1]) span[1] = ts;
    // Every 4096 packets, from the 64th: a first call at packet 4096 would come after V8 compiled
    // this function (and the per-packet path it inlines) without type feedback for it, and deoptimize it.
    if ((frame & 4095) === 64) maybeProgress();
  };

  let progressAt = 0;
  let progressBase: Omit<Progress, 'packets' | 'flows' | 'rtpStreams' | 'calls' | 'elapsedS' | 'phase'> = {
    input: opts.inputs[0],
    inputIndex: 0,
    inputs: opts.inputs.length,
    bytesRead: 0,
    bytesTotal: null,
  };
  const emitProgress = (phase: Progress['phase'], calls: number | null = null): void => {
    opts.onProgress?.({
      ...progressBase,
      phase,
      packets: frame,
      flows: table.created,
      rtpStreams: media.streamCount,
      calls,
      elapsedS: (Date.now() - started) / 1000,
    });
  };
  const maybeProgress = (): void => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (now - progressAt < PROGRESS_INTERVAL_MS) return;
    progressAt = now;
    emitProgress('reading');
  };

  const sources: SourceInfo[] = [];
  for (let i = 0; i < opts.inputs.length; i++) {
    const input = opts.inputs[i];
    progressBase = { ...progressBase, input, inputIndex: i, bytesRead: 0, bytesTotal: null };
    try {
      const info = await readCapture(input, onPacket, {
        signal: opts.signal,
        onName: (e) => {
          for (const n of e.names) nrb.add(e.ip, n, 0, 0);
        },
        onProgress: (bytesRead, bytesTotal) => {
          progressBase = { ...progressBase, bytesRead, bytesTotal };
          maybeProgress();
        },
      });
      sources.push(info);
    } catch (e) {
      // One unreadable input among several is reported; a lone one is a usage error (exit 2).
      if (e instanceof CaptureOpenError && opts.inputs.length > 1 && frame > 0) {
        sources.push(unreadableSource(input, e.message));
        continue;
      }
      throw e;
    }
  }
  if (frame === 0 && sources.every((s) => s.errors.length > 0)) {
    const first = sources.find((s) => s.errors.length)!;
    throw new CaptureOpenError(
      `${first.path}: nothing could be read (${first.errors[0].message} at byte ${first.errors[0].offset}): check that the file is a complete capture`,
      first.path,
    );
  }

  emitProgress('analyzing');
  table.flush();
  for (const a of analyzers) a.finish?.();

  const warnings: string[] = [];
  for (const s of sources) for (const w of s.warnings) warnings.push(`${s.path}: ${w}`);
  const ev = table.evictions;
  if (ev.cap > 0) warnings.push(`flow table full: ${ev.cap} flows were evicted early (cap ${opts.maxFlows ?? 'default'}); their statistics end at eviction`);
  if (names.evictions > 0) warnings.push(`DNS name map full: ${names.evictions} names evicted`);
  if (media.evictions > 0) warnings.push(`RTP stream table full: ${media.evictions} streams evicted`);
  if (dns.evictions > 0) warnings.push(`DNS transaction table full: ${dns.evictions} pending queries or DNS-over-TCP streams dropped`);
  if (dns.omitted > 0) warnings.push(`${dns.omitted} DNS transactions beyond the ones kept were only counted (failures are kept first)`);
  if (tls.evictions > 0) warnings.push(`TCP reassembly budget exceeded: ${tls.evictions} stream prefixes dropped`);
  if (flowsOmitted > 0) warnings.push(`${flowsOmitted} of ${flowsTotal} flows omitted from the report (only counted); the summary counts them all`);
  for (const [name, n] of Object.entries(weirds)) warnings.push(`weird: ${name} × ${n}`);

  const capture: ReportCapture = {
    sources: sources.map(toReportSource),
    packets: frame,
    start: frame > 0 ? isoTime(span[0]) : null,
    end: frame > 0 ? isoTime(span[1]) : null,
    malformedPackets,
    warnings,
    malformedByReason,
    durationS: frame > 0 ? round(span[1] - span[0], 6) : null,
    evictions: { flows: ev.cap, dnsNames: names.evictions, rtpStreams: media.evictions, reassembly: tls.evictions },
  };

  const calls = media.calls();
  const rtpStreams = media.streams();
  const { findings, checklist, verdict } = buildFindings({
    collector,
    capture,
    sources,
    calls,
    dns: dns.transactions(),
    tunnels: tunnel,
    vdi,
    orphanIcmp: table.orphanErrors(),
  });
  emitProgress('done', calls.length);

  const report: Report = {
    schema: SCHEMA,
    tool: { name: 'spokecap', version: VERSION },
    capture,
    flows: [],
    rtpStreams,
    calls,
    findings,
    verdict,
    summary: { flowsByClass: Object.fromEntries(byClass), flowsTotal, flowsOmitted },
    checklist,
    policy: { name: `${policy.name} ${policy.version}`, edge, internal: internalCidrs, limits: policy.limits },
  };
  // The flows' objects are made when the report is first read, once this scope is garbage.
  return withStoredFlows(report, reportFlows);
}

function unreadableSource(path: string, message: string): SourceInfo {
  return { ...newInfo(path), truncated: true, errors: [{ offset: 0, message }] };
}

