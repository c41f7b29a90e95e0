/**
 * `npm run bench`: throughput and peak memory of the reader, the decoders,
 * flows + classification and the full pipeline, against capinfos and tshark
 * on the same generated capture. Our stages run with plain node, one process
 * per run, so neither tsx nor another stage is in the figures.
 *
 * Our stages are bundled with esbuild (bench/stage.ts and what it imports →
 * bench/out/bench/stage.mjs), with the options scripts/build.mjs bundles the
 * CLI with, so they load as the CLI does.
 *
 * Env: BENCH_PACKETS (default 3 000 000), BENCH_FILE (use an existing capture),
 * BENCH_RUNS (runs per stage of ours, best kept; default 3), BENCH_SKIP_TSHARK=1
 * (ours only), BENCH_TSHARK_RTP_PACKETS (run tshark -z rtp,streams on only the
 * first N packets and scale its time; its memory is then not comparable).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUNDLE_OPTIONS } from '../scripts/build.mjs';
import { DEFAULT_PACKETS, defaultBenchPath, generateBenchCapture } from './generate.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench', 'out');
/** The node options bin/spokecap starts with (its `#!/usr/bin/env -S node ...` line): our stages run with the same. */
const CLI_NODE_OPTIONS = readFileSync(join(ROOT, 'bin', 'spokecap'), 'utf8')
  .split('\n')[0]
  .split(/\s+/)
  .filter((a) => a.startsWith('--'));

type Stage = 'read' | 'decode' | 'flows' | 'pipeline';
const STAGE_NAMES: Record<Stage, string> = {
  read: 'spokecap read',
  decode: 'spokecap read + decode',
  flows: 'spokecap flows + classify',
  pipeline: 'spokecap full pipeline',
};

interface Result {
  name: string;
  /** Packets the tool processed (null: the whole file). */
  packets: number | null;
  /** Wall time of the process, start-up included. */
  wallS: number;
  /** User + system CPU time of the process (all its threads). */
  cpuS: number;
  maxRssBytes: number;
  /** Our stages: time spent on the work itself (after start-up and module loading). */
  workS?: number;
  /** Our stages: work time of every run, in run order (the spread shows how steady the host was). */
  runsS?: number[];
  /** The pipeline stage: where its time went (bench/stage.ts, Phases). */
  phases?: { readingS: number; endS: number; steadyPps: number; warmupS: number };
  note?: string;
}

/** Bundle bench/stage.ts and everything it imports into bench/out/stage.mjs, as the CLI is bundled. */
async function compile(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  await build({ ...BUNDLE_OPTIONS, entryPoints: [join(ROOT, 'bench', 'stage.ts')], outfile: join(OUT, 'stage.mjs') });
}

/** A process under /usr/bin/time: wall seconds, CPU seconds, max RSS; stdout returned. */
async function timed(cmd: string, args: string[], env = process.env): Promise<{ wallS: number; cpuS: number; maxRssBytes: number; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'spokecap-bench-'));
  const timing = join(dir, 'time');
  try {
    const { stdout } = await run('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timing, cmd, ...args], { cwd: ROOT, maxBuffer: 1 << 30, env });
    const [wallS, user, sys, kib] = readFileSync(timing, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    return { wallS, cpuS: user + sys, maxRssBytes: kib * 1024, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Our stages' environment: without NODE_EXTRA_CA_CERTS, with which Node parses
 * the whole CA bundle at start-up (60-80 ms on the bench machine, which sets it
 * for its proxy) for TLS connections spokecap never makes.
 */
const STAGE_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));

/** Best of `runs` runs (shortest work time) of one of our stages. */
async function ours(stage: Stage, file: string, runs: number): Promise<Result> {
  let best: Result | null = null;
  const runsS: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = await timed(process.execPath, [...CLI_NODE_OPTIONS, join(OUT, 'stage.mjs'), stage, file], STAGE_ENV);
    const r = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as { packets: number; seconds: number; phases?: Result['phases'] };
    const result: Result = { name: STAGE_NAMES[stage], packets: r.packets, wallS: t.wallS, cpuS: t.cpuS, maxRssBytes: t.maxRssBytes, workS: r.seconds, phases: r.phases };
    runsS.push(r.seconds);
    if (best === null || result.workS! < best.workS!) best = result;
  }
  return { ...best!, runsS };
}

async function external(name: string, cmd: string, args: string[], packets: number | null = null, note?: string): Promise<Result> {
  const t = await timed(cmd, args);
  return { name, packets, wallS: t.wallS, cpuS: t.cpuS, maxRssBytes: t.maxRssBytes, note };
}

const MB = 1e6;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(rows: Result[], fileBytes: number, totalPackets: number): string {
  const head = ['stage', 'packets/s', 'MB/s', 'wall s', 'CPU s', 'peak RSS MB', 'work-only packets/s'];
  const body = rows.map((r) => {
    const packets = r.packets ?? totalPackets;
    const bytes = (fileBytes * packets) / totalPackets;
    return [
      r.name + (r.note ? ` (${r.note})` : ''),
      fmt(packets / r.wallS),
      fmt(bytes / MB / r.wallS, 1),
      fmt(r.wallS, 2),
      fmt(r.cpuS, 2),
      fmt(r.maxRssBytes / MB, 1),
      r.workS ? fmt(packets / r.workS) : '',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const packets = Number(process.env.BENCH_PACKETS ?? DEFAULT_PACKETS);
  const file = process.env.BENCH_FILE ?? defaultBenchPath(packets);
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  if (!existsSync(file)) {
    console.log(`generating ${fmt(packets)} packets into ${file} ...`);
    await generateBenchCapture(file, packets);
  }
  const fileBytes = statSync(file).size;
  console.log(`capture: ${file} (${fmt(fileBytes / MB, 1)} MB)`);
  console.log('bundling bench/stage.ts with esbuild into bench/out ...');
  await compile();

  const rows: Result[] = [];
  for (const stage of ['read', 'decode', 'flows', 'pipeline'] as const) {
    rows.push(await ours(stage, file, runs));
    const r = rows.at(-1)!;
    console.log(`  ${STAGE_NAMES[stage]}: ${fmt(r.workS!, 2)} s (runs: ${r.runsS!.map((x) => fmt(x, 2)).join(', ')} s)`);
    const ph = r.phases;
    if (ph)
      console.log(
        `    best run: reading ${fmt(ph.readingS, 2)} s at ${fmt(ph.steadyPps / 1e6, 2)} M packets/s in its second half ` +
          `(warm-up ${fmt(ph.warmupS, 2)} s not explained by that rate), end (flush, findings, report) ${fmt(ph.endS, 2)} s`,
      );
  }
  const total = rows[0].packets!;
  let rtpStreams: Result | undefined;
  if (!process.env.BENCH_SKIP_TSHARK) {
    rows.push(await external('capinfos -c', 'capinfos', ['-c', file]));
    rows.push(await external('tshark -q -n', 'tshark', ['-r', file, '-q', '-n']));
    const prefix = Number(process.env.BENCH_TSHARK_RTP_PACKETS ?? 0);
    const rtpArgs = ['-r', file, '-q', '-n', '-o', 'rtp.heuristic_rtp:TRUE', '-z', 'rtp,streams'];
    rtpStreams =
      prefix > 0 && prefix < total
        ? await external('tshark -z rtp,streams', 'tshark', ['-c', String(prefix), ...rtpArgs], prefix, `first ${fmt(prefix)} packets only`)
        : await external('tshark -z rtp,streams', 'tshark', rtpArgs);
    rows.push(rtpStreams);
  }
  console.log(`\n${table(rows, fileBytes, total)}\n`);
  console.log(`packets/s and MB/s are per wall second including process start-up; "work-only" leaves out Node's start-up and module loading.`);
  console.log(`our stages run with the node options bin/spokecap starts with: ${CLI_NODE_OPTIONS.join(' ') || '(none)'}`);
  if (process.env.NODE_EXTRA_CA_CERTS) console.log('our stages run without NODE_EXTRA_CA_CERTS (Node would parse that CA bundle at start-up; spokecap makes no TLS connection)');
  console.log(`ours: best of ${runs} runs each (BENCH_RUNS).\n`);

  const byName = new Map(rows.map((r) => [r.name, r]));
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  const decode = byName.get(STAGE_NAMES.decode)!;
  const flows = byName.get(STAGE_NAMES.flows)!;
  const pipeline = byName.get(STAGE_NAMES.pipeline)!;
  const decodeRate = total / decode.workS!;
  console.log(
    `1. read + decode: ${fmt(decodeRate / 1e6, 2)} M packets/s work-only (target >= 4: ${verdict(decodeRate >= 4e6)}), ` +
      `peak RSS ${fmt(decode.maxRssBytes / MB, 1)} MB (target < 100: ${verdict(decode.maxRssBytes < 100 * MB)})`,
  );
  const flowsRate = total / flows.workS!;
  const pipelineRate = total / pipeline.workS!;
  console.log(
    `2. flows + classify: ${fmt(flowsRate / 1e6, 2)} M packets/s work-only (target >= 2: ${verdict(flowsRate >= 2e6)}); ` +
      `full pipeline ${fmt(pipelineRate / 1e6, 2)} M packets/s`,
  );
  if (rtpStreams) {
    const tsharkRate = rtpStreams.packets !== null ? rtpStreams.packets / rtpStreams.wallS : total / rtpStreams.wallS;
    const speed = total / pipeline.wallS / tsharkRate;
    const memory = rtpStreams.maxRssBytes / pipeline.maxRssBytes;
    const memoryText =
      rtpStreams.packets !== null
        ? `memory not compared (tshark read only a prefix; its RSS grows with the packets it reads)`
        : `${fmt(memory, 1)}x less peak memory (target >= 10: ${verdict(memory >= 10)})`;
    console.log(`3. full pipeline vs tshark -z rtp,streams (wall time, start-up included): ${fmt(speed, 1)}x faster (target >= 10: ${verdict(speed >= 10)}), ${memoryText}`);
  }
}

await main();
