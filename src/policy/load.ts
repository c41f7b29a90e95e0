/** Reading a user policy file (--policy). */
import { readFileSync } from 'node:fs';
import type { Policy } from './types.js';
import { PolicyError, validatePolicy } from './validate.js';

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file: check the path given to --policy',
  EACCES: 'permission denied: make the file readable',
  EISDIR: 'it is a directory: name the JSON policy file',
};

/** Load and validate a JSON policy; every failure is a PolicyError whose message is one sentence. */
export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new PolicyError(path, null, `cannot read the policy file: ${FILE_PROBLEMS[code] ?? (e as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new PolicyError(path, null, `not valid JSON: ${jsonProblem(text, (e as Error).message)}`);
  }
  return validatePolicy(obj, path);
}

/** Node reports "… in JSON at position N"; say line and column instead. */
function jsonProblem(text: string, message: string): string {
  const m = /^(.*?)(?: in JSON)? at position (\d+)/.exec(message);
  if (!m) return message;
  const pos = Number(m[2]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `${m[1]} at line ${line}, column ${column}`;
}
