/** Record builders: internal state → the JSON contract (src/report/schema.ts). */
import type { SourceInfo } from '../capture/types.js';
import type { ReportSource } from './schema.js';
import { sanitizeText } from './sanitize.js';

/**
 * The "YYYY-MM-DDTHH:MM:SS" part of recent whole seconds, by second: flows
 * end in capture order, so their times repeat a few seconds over and over
 * (Date's formatting was a visible cost per flow).
 */
const SECONDS_SLOTS = 64;
const secondsKey = new Float64Array(SECONDS_SLOTS).fill(NaN);
const secondsText: string[] = new Array<string>(SECONDS_SLOTS).fill('');
/** Char codes of the text being built: "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
const isoChars: number[] = new Array<number>(27).fill(0);

/**
 * ISO-8601 UTC with microseconds, from seconds since the epoch. Built from
 * char codes into one flat string: report flows keep two of these each, and a
 * template literal would leave a tree of cons strings (~130 bytes) behind.
 */
export function isoTime(ts: number): string {
  let sec = Math.floor(ts);
  let micros = Math.round((ts - sec) * 1e6);
  if (micros >= 1e6) {
    sec += 1;
    micros -= 1e6;
  }
  const slot = sec & (SECONDS_SLOTS - 1);
  let seconds: string;
  if (secondsKey[slot] === sec) seconds = secondsText[slot];
  else {
    const d = new Date(sec * 1000);
    if (Number.isNaN(d.getTime())) return '1970-01-01T00:00:00.000000Z';
    seconds = d.toISOString().slice(0, 19);
    secondsKey[slot] = sec;
    secondsText[slot] = seconds;
  }
  const c = isoChars;
  for (let i = 0; i < 19; i++) c[i] = seconds.charCodeAt(i);
  c[19] = 46; // '.'
  for (let i = 25; i >= 20; i--) {
    c[i] = 48 + (micros % 10);
    micros = Math.floor(micros / 10);
  }
  c[26] = 90; // 'Z'
  return String.fromCharCode.apply(null, c);
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function toReportSource(s: SourceInfo): ReportSource {
  return {
    path: s.path,
    format: s.format,
    linkTypes: s.linkTypes,
    packets: s.packets,
    bytes: s.bytes,
    truncated: s.truncated,
    errors: s.errors,
    gzip: s.gzip,
    snaplen: s.snaplen,
    warnings: s.warnings,
  };
}

/**
 * sanitizeText results by input: the same few names (SNI, DNS) and notes come
 * back on flow after flow, and sanitising builds its output a character at a
 * time. Bounded: at most MAX_ENTRIES entries, none longer than MAX_KEY.
 */
class SanitizedMemo {
  private static readonly MAX_ENTRIES = 1024;
  private static readonly MAX_KEY = 512;
  private readonly known = new Map<string, string>();

  /** `max` as for sanitizeText (its default when undefined). */
  constructor(private readonly max?: number) {}

  get(text: string): string {
    if (text.length > SanitizedMemo.MAX_KEY) return sanitizeText(text, this.max);
    let safe = this.known.get(text);
    if (safe === undefined) {
      if (this.known.size >= SanitizedMemo.MAX_ENTRIES) this.known.clear();
      safe = sanitizeText(text, this.max);
      this.known.set(text, safe);
    }
    return safe;
  }
}

const names = new SanitizedMemo();
const notes = new SanitizedMemo(500);

/** sanitizeText(name): a wire name made safe to print. */
export function sanitizeName(name: string): string {
  return names.get(name);
}

/** sanitizeText(note, 500): a flow note made safe to print. */
export function sanitizeNote(note: string): string {
  return notes.get(note);
}
