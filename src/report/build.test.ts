import { describe, expect, it } from 'vitest';
import { seededRandom } from '../synth/random.js';
import { sanitizeText } from './sanitize.js';
import { isoTime, sanitizeName, sanitizeNote } from './build.js';

/** The formatting isoTime must keep: Date's, for every call. */
function viaDate(ts: number): string {
  let sec = Math.floor(ts);
  let micros = Math.round((ts - sec) * 1e6);
  if (micros >= 1e6) {
    sec += 1;
    micros -= 1e6;
  }
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return '1970-01-01T00:00:00.000000Z';
  return `${d.toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

describe('isoTime', () => {
  it('formats microseconds and carries a rounded-up second into the seconds part', () => {
    expect(isoTime(1_767_225_600.25)).toBe('2026-01-01T00:00:00.250000Z');
    expect(isoTime(1_767_225_599.9999996)).toBe('2026-01-01T00:00:00.000000Z');
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoTime(-0.5)).toBe('1969-12-31T23:59:59.500000Z');
  });

  it('gives what Date gives for times that share, collide in and revisit its per-second memo', () => {
    const rand = seededRandom(7);
    const base = 1_767_225_600;
    const times: number[] = [];
    // Seconds 64 apart share a memo slot; revisits after a collision must not reuse the other second's text.
    for (let i = 0; i < 2000; i++) times.push(base + Math.floor(rand() * 300) + rand());
    for (let i = 0; i < 200; i++) times.push(base + (i % 4) * 64 + rand(), rand() * 4e9, -rand() * 1e9);
    for (const ts of times) expect(isoTime(ts)).toBe(viaDate(ts));
  });

  it('falls back to the epoch for times Date cannot hold', () => {
    for (const ts of [NaN, Infinity, -Infinity, 9e15]) expect(isoTime(ts)).toBe('1970-01-01T00:00:00.000000Z');
  });
});

describe('sanitizeName', () => {
  it('is sanitizeText, the first time and again', () => {
    const names = ['app.spokephone.com', 'a\u001b[2J.example', 'x\u202eevil.com', 'é.example', 'x'.repeat(300), `${'y'.repeat(254)}\u0007`];
    for (let round = 0; round < 2; round++) for (const n of names) expect(sanitizeName(n)).toBe(sanitizeText(n));
  });

  it('stays right after its memo fills and starts over', () => {
    for (let i = 0; i < 3000; i++) expect(sanitizeName(`h${i}\u0001.example`)).toBe(`h${i}\\x01.example`);
    expect(sanitizeName('h5\u0001.example')).toBe('h5\\x01.example');
  });
});

describe('sanitizeNote', () => {
  it('is sanitizeText capped at 500, for every flow that repeats a note', () => {
    const notes = ['plain note', 'bell \u0007 and bidi \u202e', `${'n'.repeat(480)}\u001b[2J${'m'.repeat(100)}`, 'x'.repeat(700)];
    for (let round = 0; round < 2; round++) for (const n of notes) expect(sanitizeNote(n)).toBe(sanitizeText(n, 500));
  });
});
