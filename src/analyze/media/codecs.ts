/**
 * RTP payload types: names and clock rates of the static types (RFC 3551 and
 * the IANA registry, with Wireshark's clock_map in ui/tap-rtp-analysis.c as the
 * reference so that jitter matches tshark), clock inference for dynamic types,
 * and the equipment-impairment values used by the G.107 E-model.
 */

export interface StaticPayloadType {
  name: string;
  clockRate: number;
}

/** Index = payload type. Undefined entries are unassigned/reserved. */
const STATIC: Array<StaticPayloadType | undefined> = [];
function def(pt: number, name: string, clockRate: number): void {
  STATIC[pt] = { name, clockRate };
}
def(0, 'PCMU', 8000);
def(1, '1016', 8000);
def(2, 'G721', 8000);
def(3, 'GSM', 8000);
def(4, 'G723', 8000);
def(5, 'DVI4', 8000);
def(6, 'DVI4', 16000);
def(7, 'LPC', 8000);
def(8, 'PCMA', 8000);
def(9, 'G722', 8000); // RFC 3551 §4.5.2: 8000 RTP clock although sampled at 16 kHz
def(10, 'L16', 44100);
def(11, 'L16', 44100);
def(12, 'QCELP', 8000);
def(13, 'CN', 8000);
def(14, 'MPA', 90000);
def(15, 'G728', 8000);
def(16, 'DVI4', 11025);
def(17, 'DVI4', 22050);
def(18, 'G729', 8000);
def(19, 'CN', 8000); // the old comfort-noise type
def(25, 'CelB', 90000);
def(26, 'JPEG', 90000);
def(28, 'nv', 90000);
def(31, 'H261', 90000);
def(32, 'MPV', 90000);
def(33, 'MP2T', 90000);
def(34, 'H263', 90000);

export const PT_CN = 13;
export const PT_CN_OLD = 19;

export function staticPayloadType(pt: number): StaticPayloadType | undefined {
  return STATIC[pt];
}

/** 1 for the payload types the RTP heuristic accepts: the assigned static ones and the dynamic range. */
const PLAUSIBLE = new Uint8Array(128);
for (let pt = 0; pt < 128; pt++) PLAUSIBLE[pt] = STATIC[pt] !== undefined || (pt >= 96 && pt <= 127) ? 1 : 0;

/** Payload types accepted by the RTP heuristic: the assigned static ones and the dynamic range (pt is 0–127). */
export function plausiblePayloadType(pt: number): boolean {
  return PLAUSIBLE[pt] === 1;
}

export function isDynamic(pt: number): boolean {
  return pt >= 96 && pt <= 127;
}

/** Standard RTP clock rates a dynamic payload type is snapped to. */
const SNAP_RATES = [8000, 16000, 24000, 32000, 48000, 90000];

/**
 * Snap a measured RTP-timestamp rate (ticks per second of arrival time) to the
 * nearest standard clock (geometric distance), or null when it is more than
 * 20% away from every one of them.
 */
export function snapClockRate(ticksPerSecond: number): number | null {
  if (!(ticksPerSecond > 0) || !Number.isFinite(ticksPerSecond)) return null;
  let best = 0;
  let bestDist = Infinity;
  for (const r of SNAP_RATES) {
    const d = Math.abs(Math.log(ticksPerSecond / r));
    if (d < bestDist) {
      bestDist = d;
      best = r;
    }
  }
  return bestDist <= Math.log(1.2) ? best : null;
}

/**
 * A guessed name for a dynamic payload type from its inferred clock, marked
 * with '?' because nothing in the packets names it: 48 kHz audio in VoIP and
 * WebRTC is Opus; 90 kHz is video. Other clocks (8/16 kHz: G.722, AMR-WB,
 * iLBC, telephone-event...) are too ambiguous to name.
 */
export function guessDynamicCodec(clockRate: number | null): string | null {
  if (clockRate === 48000) return 'opus?';
  if (clockRate === 90000) return 'video?';
  return null;
}

/**
 * Nominal IP-layer bitrate (kbit/s, IP+UDP+RTP headers included, 20 ms
 * packets) of constant-rate codecs, used to judge bandwidth. Null for
 * variable-rate or unknown codecs (Opus with DTX, video): their rate says
 * nothing about the path.
 */
export function nominalKbps(codec: string | null): number | null {
  switch (codec) {
    case 'PCMU':
    case 'PCMA':
    case 'G722':
      return 80; // (160 + 12 + 8 + 20) bytes × 50 pkt/s
    case 'G729':
      return 24; // (20 + 40) × 50
    case 'GSM':
      return 29.2; // (33 + 40) × 50
    default:
      return null;
  }
}

/**
 * ITU-T G.113 Appendix I equipment impairment Ie and packet-loss robustness
 * Bpl (random loss, with packet-loss concealment where the codec has it).
 */
export function equipmentImpairment(codec: string | null): { ie: number; bpl: number } {
  switch (codec) {
    case 'PCMU':
    case 'PCMA':
      return { ie: 0, bpl: 25.1 }; // G.711 with PLC (G.711 Appendix I)
    case 'G729':
      return { ie: 11, bpl: 19.0 }; // G.729A + VAD
    case 'G723':
      return { ie: 15, bpl: 16.1 }; // G.723.1 6.3 kbit/s
    case 'GSM':
      return { ie: 20, bpl: 10 }; // GSM 06.10 full rate
    default:
      // G.722 and Opus are wideband (G.107.1 territory); on the narrowband
      // scale they are treated like G.711 with PLC, a documented approximation.
      return { ie: 0, bpl: 25.1 };
  }
}
