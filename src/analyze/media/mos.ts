/**
 * Call quality scores. Sources and derivations are in docs/media.md.
 *
 * twilioMos: the formula of the Twilio Voice JS SDK (twilio/twilio-voice.js,
 * lib/twilio/rtc/mos.ts `calculate(rtt, jitter, fractionLost)`), which is what
 * Twilio's call-quality warnings use. Its third argument is the loss in
 * PERCENT (packetsLost / packetsExpected × 100) despite its name.
 *
 * g107Mos: the ITU-T G.107 E-model with default values, the simplified delay
 * impairment of Cole & Rosenbluth (2001) and the G.113 equipment impairment of
 * the codec.
 */
import { equipmentImpairment } from './codecs.js';

const R0 = 94.768;

/** R factor → MOS (G.107 Annex B, also used by the Twilio SDK). */
export function rToMos(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r);
}

/** Twilio Voice SDK MOS; null when an input is not a finite non-negative number. */
export function twilioMos(rttMs: number, jitterMs: number, lossPct: number): number | null {
  if (![rttMs, jitterMs, lossPct].every((n) => Number.isFinite(n) && n >= 0)) return null;
  const effectiveLatency = rttMs + jitterMs * 2 + 10;
  let r = 0;
  if (effectiveLatency < 160) r = R0 - effectiveLatency / 40;
  else if (effectiveLatency < 1000) r = R0 - (effectiveLatency - 120) / 10;
  r = lossPct <= r / 2.5 ? Math.max(r - lossPct * 2.5, 6.52) : 0;
  return 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r);
}

/** G.107 default R0 − Is (Ro = 94.77, Is = 1.41) plus the advantage factor A = 0. */
const G107_BASE = 93.2;
/** Packetization/algorithmic delay assumed on top of network and jitter-buffer delay (20 ms frames). */
const FRAME_DELAY_MS = 20;

/**
 * G.107 E-model MOS. One-way mouth-to-ear delay d = rtt/2 + 2·jitter (a
 * jitter buffer twice the jitter) + 20 ms framing; Id = 0.024·d +
 * 0.11·(d − 177.3)·H(d − 177.3); Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl + Bpl)
 * (random loss, BurstR = 1); R = 93.2 − Id − Ie,eff.
 */
export function g107Mos(rttMs: number, jitterMs: number, lossPct: number, codec: string | null): number | null {
  if (![rttMs, jitterMs, lossPct].every((n) => Number.isFinite(n) && n >= 0)) return null;
  const d = rttMs / 2 + 2 * jitterMs + FRAME_DELAY_MS;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const { ie, bpl } = equipmentImpairment(codec);
  const ppl = Math.min(lossPct, 100);
  const ieEff = ie + ((95 - ie) * ppl) / (ppl + bpl);
  return rToMos(G107_BASE - id - ieEff);
}
