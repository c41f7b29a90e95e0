/**
 * One benchmark stage in its own process, so peak RSS is the stage's own.
 * Usage: tsx bench/stage.ts <read|decode|pipeline> <file>
 * Prints one JSON line: { packets, seconds, maxRssBytes } (or { skipped }).
 */
import { readCapture } from '../src/capture/read.js';

const [stage, file] = process.argv.slice(2);

async function run(): Promise<{ packets: number } | { skipped: string }> {
  if (stage === 'read') {
    let n = 0;
    await readCapture(file, () => {
      n++;
    });
    return { packets: n };
  }
  if (stage === 'decode') {
    const { decodePacket } = await import('../src/decode/index.js');
    const { PacketView } = await import('../src/decode/view.js');
    const view = new PacketView();
    let n = 0;
    await readCapture(file, (p) => {
      decodePacket(view, p.data, p.linkType);
      n++;
    });
    return { packets: n };
  }
  if (stage === 'pipeline') {
    let engine: typeof import('../src/engine/engine.js');
    try {
      engine = await import('../src/engine/engine.js');
    } catch (err) {
      return { skipped: `engine not loadable: ${(err as Error).message.split('\n')[0]}` };
    }
    const report = await engine.analyze({ inputs: [file] });
    return { packets: report.capture.packets };
  }
  throw new Error(`unknown stage ${stage}`);
}

const t0 = performance.now();
const result = await run();
const seconds = (performance.now() - t0) / 1000;
// resourceUsage().maxRSS is in KiB (getrusage ru_maxrss).
console.log(JSON.stringify({ ...result, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
