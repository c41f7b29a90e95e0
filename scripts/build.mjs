/**
 * Bundles the CLI into dist/cli/spokecap.mjs (run by bin/spokecap when it is
 * newer than every source file; `npm install` runs this through "prepare").
 *
 * Why a bundle: Node 20 loading our ~60 ES modules one by one took ~14 MB of
 * RSS and 140-210 ms before the first packet; the same code as one module
 * takes ~4 MB and 25-40 ms (docs/benchmark.md, "Start-up and bundling").
 * Running the sources through tsx cost ~35 MB more. The bundle is the same
 * code: esbuild only strips types and joins modules.
 *
 * Usage: node scripts/build.mjs
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * esbuild options shared with bench/run.ts. Output must sit two directories
 * below a package.json: src/engine/version.ts and src/cli/run.ts read
 * '../../package.json' relative to their own module, as in the sources.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The terminal UI (ink, react) loads only for the interactive view: kept out of the bundle, loaded from node_modules then.
  external: ['ink', 'react', 'react/*'],
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  legalComments: 'none',
  tsconfig: join(ROOT, 'tsconfig.json'),
};

/** The CLI: dist/cli/spokecap.mjs, the terminal UI split into a chunk beside it (same depth: see above). */
export async function buildCli() {
  rmSync(join(ROOT, 'dist/cli'), { recursive: true, force: true }); // chunk names change with their content
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { spokecap: join(ROOT, 'src/cli/main.tsx') },
    outdir: join(ROOT, 'dist/cli'),
    splitting: true,
    chunkNames: '[name]-[hash]',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
