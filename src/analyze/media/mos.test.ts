import { describe, expect, it } from 'vitest';
import { g107Mos, rToMos, twilioMos } from './mos.js';

describe('twilioMos (Twilio Voice JS SDK formula)', () => {
  it('matches hand-computed values', () => {
    // EL = 50 + 2·5 + 10 = 70 < 160 → R = 94.768 − 70/40 = 93.018; loss 1% → R = 90.518
    const r = 94.768 - 70 / 40 - 2.5;
    expect(twilioMos(50, 5, 1)).toBeCloseTo(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 10);
    expect(twilioMos(50, 5, 1)).toBeCloseTo(4.3515, 3);
    // EL = 300 + 40 + 10 = 350 → R = 94.768 − 23 = 71.768
    const r2 = 94.768 - (350 - 120) / 10;
    expect(twilioMos(300, 20, 0)).toBeCloseTo(1 + 0.035 * r2 + 7e-6 * r2 * (r2 - 60) * (100 - r2), 10);
  });
  it('floors R at 6.52 and zeroes it when loss% exceeds R/2.5; EL ≥ 1000 starts from R = 0 (then the floor)', () => {
    const floor = 1 + 0.035 * 6.52 + 7e-6 * 6.52 * (6.52 - 60) * (100 - 6.52);
    expect(twilioMos(0, 0, 36)).toBeCloseTo(floor, 10); // R = 94.518 − 90 = 4.518 → 6.52
    expect(twilioMos(0, 0, 38)).toBe(1); // 38 > 94.518 / 2.5
    expect(twilioMos(1000, 0, 0)).toBeCloseTo(floor, 10);
  });
  it('takes loss in percent: passing lost packets instead is the known SDK bug and scores differently', () => {
    const lostPackets = 30;
    const expected = 1000;
    const right = twilioMos(40, 3, (lostPackets / expected) * 100)!;
    const bug = twilioMos(40, 3, lostPackets)!;
    expect(right).toBeGreaterThan(4.1);
    expect(bug).toBeLessThan(2);
  });
  it('rejects negative or non-finite input', () => {
    expect(twilioMos(-1, 0, 0)).toBeNull();
    expect(twilioMos(0, NaN, 0)).toBeNull();
  });
});

describe('g107Mos (E-model)', () => {
  it('matches a hand-computed G.711 value', () => {
    // d = 100/2 + 2·5 + 20 = 80 ms → Id = 1.92; Ppl = 2, Bpl 25.1 → Ie,eff = 95·2/27.1
    const r = 93.2 - 0.024 * 80 - (95 * 2) / 27.1;
    expect(g107Mos(100, 5, 2, 'PCMA')).toBeCloseTo(rToMos(r), 10);
  });
  it('adds the delay knee past 177.3 ms and the codec impairment', () => {
    const d = 400 / 2 + 0 + 20;
    const r = 93.2 - (0.024 * d + 0.11 * (d - 177.3)) - 11;
    expect(g107Mos(400, 0, 0, 'G729')).toBeCloseTo(rToMos(r), 10);
  });
  it('maps R to MOS with the G.107 clamps', () => {
    expect(rToMos(-5)).toBe(1);
    expect(rToMos(120)).toBe(4.5);
  });
});
