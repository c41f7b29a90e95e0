import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report, ReportFinding } from './schema.js';
import {
  callStreams,
  callVerdictText,
  clip,
  countsPhrase,
  etaSeconds,
  findingsInOrder,
  fmtBytes,
  fmtClock,
  fmtDuration,
  fmtEndpoint,
  fmtList,
  fmtTime,
  fixed,
  severityHeading,
  streamSeries,
  verdictLine,
  wrap,
} from './format.js';

const fail = JSON.parse(readFileSync(new URL('../../test/fixtures/reports/fail.json', import.meta.url), 'utf8')) as Report;

const finding = (severity: ReportFinding['severity'], id: string = severity): ReportFinding => ({
  id,
  severity,
  title: id,
  detail: '',
  flows: [],
  frames: [],
  wiresharkFilter: '',
  remedy: '',
});

describe('verdict', () => {
  it('states the verdict and counts errors and warnings', () => {
    const findings = [finding('error'), finding('warning'), finding('error'), finding('info')];
    expect(verdictLine({ verdict: 'fail', findings })).toBe('FAIL — Spoke calls will not work on this network: 2 errors, 1 warning');
  });

  it('tells quality-only failures and untested captures apart from blocked calls', () => {
    const quality = [{ ...finding('error'), id: 'call-jitter' }, { ...finding('error'), id: 'call-loss' }];
    expect(verdictLine({ verdict: 'fail', findings: quality })).toBe(
      'FAIL — calls connect, but this network does not meet the call-quality requirements: 2 errors',
    );
    expect(verdictLine({ verdict: 'fail', findings: [...quality, { ...finding('error'), id: 'one-way-audio' }] })).toMatch(/will not work/);
    expect(verdictLine({ verdict: 'warn', findings: [{ ...finding('warning'), id: 'not-tested' }] })).toBe(
      'WARN — no Spoke or Twilio traffic in this capture, so nothing was tested: 1 warning',
    );
  });

  it('says so when there is nothing to fix', () => {
    expect(verdictLine({ verdict: 'pass', findings: [finding('info')] })).toBe(
      'PASS — this network meets the Spoke calling requirements: no errors or warnings',
    );
    expect(countsPhrase([finding('warning')])).toBe('1 warning');
  });

  it('orders findings errors first, stable within a severity', () => {
    const ordered = findingsInOrder([finding('info', 'i'), finding('warning', 'w1'), finding('error', 'e'), finding('warning', 'w2')]);
    expect(ordered.map((f) => f.id)).toEqual(['e', 'w1', 'w2', 'i']);
    expect(severityHeading('info', 1)).toBe('NOTES (1)');
  });
});

describe('numbers', () => {
  it('prints unknown values as a dash, never as zero', () => {
    expect(fixed(null, 1)).toBe('-');
    expect(fixed(NaN, 1)).toBe('-');
    expect(fixed(0, 1)).toBe('0.0');
  });

  it('formats bytes, durations, times, endpoints and lists', () => {
    expect(fmtBytes(999)).toBe('999 B');
    expect(fmtBytes(2_483_112)).toBe('2.48 MB');
    expect(fmtBytes(48_300_000)).toBe('48.3 MB');
    expect(fmtDuration(4.24)).toBe('4.2 s');
    expect(fmtDuration(185)).toBe('3m 05s');
    expect(fmtDuration(3720)).toBe('1h 02m');
    expect(fmtDuration(null)).toBe('-');
    expect(fmtTime('2025-03-14T09:30:00.123456Z')).toBe('2025-03-14 09:30:00 UTC');
    expect(fmtClock('2025-03-14T09:30:00.123456Z')).toBe('09:30:00.123');
    expect(fmtClock(null)).toBe('-');
    expect(fmtEndpoint({ ip: '2001:db8::1', port: 443 })).toBe('[2001:db8::1]:443');
    expect(fmtList([1, 2, 3], 2)).toBe('1, 2 … (+1 more)');
  });

  it('estimates the remaining time from the bytes read', () => {
    expect(etaSeconds(25, 100, 5)).toBe(15);
    expect(etaSeconds(25, null, 5)).toBeNull();
    expect(etaSeconds(0, 100, 5)).toBeNull();
  });
});

describe('layout', () => {
  it('wraps at word boundaries and splits overlong words', () => {
    expect(wrap('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrap('abcdefghijklmnopqrst', 8)).toEqual(['abcdefgh', 'ijklmnop', 'qrst']);
    for (const line of wrap(fail.findings[0].detail, 30)) expect(line.length).toBeLessThanOrEqual(30);
  });

  it('clips with an ellipsis', () => {
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(clip('abc', 4)).toBe('abc');
  });
});

describe('calls', () => {
  it('finds the uplink and downlink streams of a call', () => {
    const { up, down } = callStreams(fail.calls[0], fail.rtpStreams);
    expect(up?.ssrc).toBe('0x1a2b3c4d');
    expect(down?.ssrc).toBe('0x5e6f7081');
    const oneWay = callStreams(fail.calls[1], fail.rtpStreams);
    expect(oneWay.up?.ssrc).toBe('0x0badf00d');
    expect(oneWay.down).toBeNull();
  });

  it('turns a stream timeline into per-second series with loss in percent', () => {
    const stream = fail.rtpStreams[0];
    const series = streamSeries(stream);
    expect(series.jitterMs).toHaveLength(stream.timeline.length);
    const lossy = stream.timeline.findIndex((p) => p.lost > 0);
    const p = stream.timeline[lossy];
    expect(series.lossPct[lossy]).toBeCloseTo((p.lost * 100) / (p.packets + p.lost));
    const gap = fail.rtpStreams[1].timeline.findIndex((x) => x.packets === 0);
    expect(streamSeries(fail.rtpStreams[1]).lossPct[gap]).toBeNull();
    expect(streamSeries(null).kbps).toEqual([]);
  });

  it('names the violated limits of a failing call', () => {
    expect(callVerdictText(fail.calls[0])).toBe('FAIL jitter, loss, bandwidth');
    expect(callVerdictText(fail.calls[2])).toBe('pass');
  });
});
