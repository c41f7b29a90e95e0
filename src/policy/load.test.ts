import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from './load.js';
import { SPOKE_TWILIO_POLICY } from './spoke-twilio.js';
import { PolicyError } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'spokecap-policy-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function loadError(path: string): PolicyError {
  try {
    loadPolicy(path);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error(`${path} loaded`);
}

describe('loadPolicy', () => {
  it('loads the sample policy and the built-in one written as JSON (with a BOM)', () => {
    const sample = fileURLToPath(new URL('../../samples/policy-example.json', import.meta.url));
    expect(loadPolicy(sample).regions).toEqual(['us1']);
    const builtin = file('builtin.json', '\ufeff' + JSON.stringify(SPOKE_TWILIO_POLICY, null, 2));
    expect(loadPolicy(builtin)).toEqual(SPOKE_TWILIO_POLICY);
  });

  it('says in one sentence why a file cannot be read', () => {
    const missing = join(dir, 'nope.json');
    expect(loadError(missing).message).toBe(`${missing}: cannot read the policy file: no such file: check the path given to --policy`);
    expect(loadError(dir).message).toBe(`${dir}: cannot read the policy file: it is a directory: name the JSON policy file`);
  });

  it('points at the line and column of a JSON syntax error', () => {
    const path = file('bad.json', '{\n  "name": "x",\n}\n');
    expect(loadError(path).message).toBe(`${path}: not valid JSON: Expected double-quoted property name at line 3, column 1`);
    const empty = file('empty.json', '');
    expect(loadError(empty).message).toBe(`${empty}: not valid JSON: Unexpected end of JSON input`);
  });

  it('reports validation problems with the file name and field path', () => {
    const path = file('bad-cidr.json', JSON.stringify({ ...SPOKE_TWILIO_POLICY, media: { ...SPOKE_TWILIO_POLICY.media, shared: ['10.0.0/8'] } }));
    const e = loadError(path);
    expect(e.message).toBe(
      `${path}: media.shared[0]: expected a CIDR like "10.0.0.0/8", got "10.0.0/8" ("10.0.0" is not an IPv4 (dotted quad) or IPv6 address)`,
    );
    expect(e.path).toBe('media.shared[0]');
  });
});
