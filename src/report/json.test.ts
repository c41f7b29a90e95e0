import { describe, expect, it } from 'vitest';
import { makeFlow } from '../classify/test-flows.js';
import { analyze } from '../engine/engine.js';
import { ReportFlowStore, withStoredFlows } from './flow-store.js';
import { writeReportJson } from './json.js';
import type { Report } from './schema.js';

function written(report: Report): { text: string; writes: number } {
  let text = '';
  let writes = 0;
  writeReportJson(report, (t) => {
    text += t;
    writes++;
  });
  return { text, writes };
}

/** A copy of a real report whose flows come from a store of `n` flows (the engine's shape). */
function withFlows(base: Report, n: number): Report {
  const store = new ReportFlowStore();
  for (let i = 0; i < n; i++) {
    const f = makeFlow({ proto: 'udp', client: `10.0.${i >> 8}.${i & 255}`, server: '192.0.2.53', clientPort: 40000 + i, serverPort: 53 }, `F${i + 1}`);
    f.cls = 'dns';
    store.add(f);
  }
  return withStoredFlows({ ...base, flows: [] }, store);
}

describe('writeReportJson', () => {
  it('writes exactly what JSON.stringify(report, null, 2) does, streaming the flows', async () => {
    const base = await analyze({ inputs: ['samples/office.pcapng'] });
    expect(base.flows.length).toBeGreaterThan(0);
    for (const n of [0, 1, 255, 256, 257, 600]) {
      const streamed = written(withFlows(base, n));
      // The flows are still in the store: batches of 256 per write, the rest around them.
      expect(streamed.writes).toBe(n === 0 ? 3 : 3 + Math.floor(n / 256));
      const report = withFlows(base, n);
      expect(report.flows).toHaveLength(n); // made from the store by the getter
      expect(streamed.text).toBe(JSON.stringify(report, null, 2) + '\n');
    }
  });

  it('writes a report whose flows were already read, or replaced, the same way', async () => {
    const report = await analyze({ inputs: ['samples/inbound.pcap'] });
    const expected = JSON.stringify(report, null, 2) + '\n';
    expect(written(report).text).toBe(expected);
    report.flows = report.flows.slice(0, 1);
    expect(written(report).text).toBe(JSON.stringify(report, null, 2) + '\n');
  });
});
