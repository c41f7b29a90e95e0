/** The tool version, from package.json (one source of truth). */
import { readFileSync } from 'node:fs';

/**
 * The nearest package.json named spokecap at or above this module: the
 * sources (src/engine/), a tsc build and the bundles (dist/cli/, bench/out/)
 * sit at different depths.
 */
function packageVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 8; depth++) {
    let text: string | null = null;
    try {
      text = readFileSync(new URL('package.json', dir), 'utf8');
    } catch {
      // none here: look further up
    }
    if (text !== null) {
      const pkg = JSON.parse(text) as { name?: string; version?: string };
      if (pkg.name === 'spokecap' && typeof pkg.version === 'string') return pkg.version;
    }
    const up = new URL('..', dir);
    if (up.href === dir.href) break;
    dir = up;
  }
  throw new Error('package.json of spokecap not found above the program: reinstall it');
}

export const VERSION: string = packageVersion();
