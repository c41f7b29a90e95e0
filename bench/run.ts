/**
 * `npm run bench`: throughput and peak memory of the reader, the decoders and
 * the full pipeline against capinfos and tshark on the generated capture.
 * Each stage runs in its own process so its peak RSS is its own.
 * Env: BENCH_PACKETS (default 3 000 000), BENCH_FILE (use an existing capture),
 * BENCH_SKIP_TSHARK=1 (ours only).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PACKETS, defaultBenchPath, generateBenchCapture } from './generate.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

interface Result {
  name: string;
  packets: number | null;
  seconds: number;
  maxRssBytes: number;
  note?: string;
}

async function ours(stage: 'read' | 'decode' | 'pipeline', file: string): Promise<Result> {
  const name = { read: 'spokecap read', decode: 'spokecap read + decode', pipeline: 'spokecap full pipeline' }[stage];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'stage.ts'), stage, file], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { packets?: number; skipped?: string; seconds: number; maxRssBytes: number };
  return { name, packets: r.packets ?? null, seconds: r.seconds, maxRssBytes: r.maxRssBytes, note: r.skipped };
}

/** An external tool under /usr/bin/time: wall seconds and max RSS, process start-up included. */
async function external(name: string, cmd: string, args: string[], packets: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'spokecap-bench-'));
  const timing = join(dir, 'time');
  try {
    await run('/usr/bin/time', ['-f', '%e %M', '-o', timing, cmd, ...args], { maxBuffer: 1 << 30 });
    const [seconds, kib] = readFileSync(timing, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    return { name, packets, seconds, maxRssBytes: kib * 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MB = 1e6;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(rows: Result[], fileBytes: number, totalPackets: number): string {
  const head = ['stage', 'packets/s', 'MB/s', 'seconds', 'peak RSS MB'];
  const body = rows.map((r) =>
    r.note
      ? [r.name, '-', '-', '-', '-', `(${r.note})`]
      : [r.name, fmt(totalPackets / r.seconds), fmt(fileBytes / MB / r.seconds, 1), fmt(r.seconds, 2), fmt(r.maxRssBytes / MB, 1)],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : (c ?? '').padStart(widths[i] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const packets = Number(process.env.BENCH_PACKETS ?? DEFAULT_PACKETS);
  const file = process.env.BENCH_FILE ?? defaultBenchPath(packets);
  if (!existsSync(file)) {
    console.log(`generating ${fmt(packets)} packets into ${file} ...`);
    await generateBenchCapture(file, packets);
  }
  const fileBytes = statSync(file).size;
  console.log(`capture: ${file} (${fmt(fileBytes / MB, 1)} MB)`);

  const rows: Result[] = [];
  for (const stage of ['read', 'decode', 'pipeline'] as const) rows.push(await ours(stage, file));
  const total = rows[0].packets ?? packets;
  if (!process.env.BENCH_SKIP_TSHARK) {
    rows.push(await external('capinfos -c', 'capinfos', ['-c', file], total));
    rows.push(await external('tshark -q -n', 'tshark', ['-r', file, '-q', '-n'], total));
    rows.push(
      await external('tshark -z rtp,streams', 'tshark', ['-r', file, '-q', '-n', '-o', 'rtp.heuristic_rtp:TRUE', '-z', 'rtp,streams'], total),
    );
  }
  console.log(`\n${table(rows, fileBytes, total)}\n`);

  const byName = new Map(rows.map((r) => [r.name, r]));
  const decode = byName.get('spokecap read + decode')!;
  const pipeline = byName.get('spokecap full pipeline')!;
  const rtpStreams = byName.get('tshark -z rtp,streams');
  const target = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(
    `read + decode: ${fmt(total / decode.seconds / 1e6, 2)} M packets/s (target >= 4: ${target(total / decode.seconds >= 4e6)}), ` +
      `peak RSS ${fmt(decode.maxRssBytes / MB, 1)} MB (target < 100: ${target(decode.maxRssBytes < 100 * MB)})`,
  );
  if (rtpStreams && !pipeline.note) {
    const speed = rtpStreams.seconds / pipeline.seconds;
    const memory = rtpStreams.maxRssBytes / pipeline.maxRssBytes;
    console.log(
      `full pipeline vs tshark rtp,streams: ${fmt(speed, 1)}x faster (target >= 10: ${target(speed >= 10)}), ` +
        `${fmt(memory, 1)}x less memory (target >= 10: ${target(memory >= 10)})`,
    );
  } else if (pipeline.note) {
    console.log(`full pipeline: not measured (${pipeline.note})`);
  }
}

await main();
