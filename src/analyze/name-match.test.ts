import { describe, expect, it } from 'vitest';
import { NameMatch } from './name-match.js';

describe('NameMatch', () => {
  it('answers as the regular expression does, name after name', () => {
    const re = /(^|\.)anydesk\.com\.?$/i;
    const m = new NameMatch(re);
    for (const name of ['relay.anydesk.com', 'relay.anydesk.com', 'anydesk.com.evil', 'ANYDESK.COM', 'ANYDESK.COM', '', 'x.anydesk.com.'])
      expect(m.test(name)).toBe(re.test(name));
  });

  it('refuses a global or sticky expression, whose test() keeps state', () => {
    expect(() => new NameMatch(/a/g)).toThrow(/without the g or y flag/);
    expect(() => new NameMatch(/a/y)).toThrow(/without the g or y flag/);
  });
});
