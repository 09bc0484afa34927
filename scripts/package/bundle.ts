import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { BuildInfo } from '../../lib/build-info.js';

/**
 * lib/sqlite/wasm.ts reads sql.js's WebAssembly from node_modules, which the binary has none of: in the bundle the
 * module holds the bytes instead (esbuild's binary loader), so the SEA carries SQLite inside its one script.
 */
const inlineSqliteWasm: Plugin = {
  name: 'inline-sqlite-wasm',
  setup(plugin) {
    const wasm = createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
    plugin.onLoad({ filter: /[\\/]lib[\\/]sqlite[\\/]wasm\.ts$/ }, () => ({
      contents: `import bytes from ${JSON.stringify(wasm)};\nexport async function sqliteWasm() { return bytes; }\n`,
      loader: 'js',
      resolveDir: '.',
    }));
    plugin.onLoad({ filter: /sql-wasm\.wasm$/ }, async (args) => ({ contents: await readFile(args.path), loader: 'binary' }));
  },
};

/** A module that fails to load, as a missing one does: its user falls back (optional native modules, supports-color). */
const missingModule = (name: string) =>
  `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${name}' (not in the self-contained executable)`)}), { code: 'MODULE_NOT_FOUND' });`;

/**
 * Modules left out of the binary, each replaced by a stand-in. The optional ones (drivelist's native module, and
 * supports-color, which debug under docker-modem tries) fail to load as missing ones do: left as a `require` of the
 * outside instead, the first attempt would make Node print a warning about SEA require() on every command that
 * reaches Docker. What dockerode loads for features fioup-offline never uses, BuildKit sessions (its `session.js`,
 * which pulls in gRPC and protobuf) and docker-modem's ssh transport (ssh2), load but say so if ever called: loading
 * them cost every command that reaches Docker its start-up time.
 */
const STAND_INS: readonly { readonly filter: RegExp; readonly importer?: RegExp; readonly contents: (path: string) => string }[] = [
  { filter: /^(drivelist|supports-color)$/, contents: missingModule },
  { filter: /^\.\/session$/, importer: /[\\/]dockerode[\\/]lib$/, contents: () => "module.exports = function () { throw new Error('BuildKit sessions are not part of fioup-offline'); };" },
  { filter: /^ssh2$/, contents: () => "exports.Client = class { constructor() { throw new Error('DOCKER_HOST=ssh:// is not supported by the self-contained fioup-offline: use the engine\\'s unix socket'); } };" },
];

const standIns: Plugin = {
  name: 'stand-ins',
  setup(plugin) {
    for (const [index, { filter, importer }] of STAND_INS.entries()) {
      plugin.onResolve({ filter }, (args) => (importer && !importer.test(args.resolveDir) ? undefined : { path: args.path, namespace: 'stand-in', pluginData: index }));
    }
    plugin.onLoad({ filter: /.*/, namespace: 'stand-in' }, (args) => ({ contents: STAND_INS[args.pluginData as number]!.contents(args.path), loader: 'js' }));
  },
};

const PRINTABLE_ASCII = String.raw`/^[\x20-\x7e]*$/`;

/** A stand-in for string-width that measures printable ASCII itself and requires `realModule` for any other text. */
function deferredStringWidth(realModule: string): string {
  return [
    'let real;',
    `module.exports = function stringWidth(text, options) {`,
    `  if (typeof text === 'string' && ${PRINTABLE_ASCII}.test(text)) return text.length;`,
    `  real ??= require(${JSON.stringify(realModule)}).default;`,
    '  return real(text, options);',
    '};',
  ].join('\n');
}

const DEFERRED = Symbol('resolving the module a stand-in defers');

/**
 * string-width (yargs', cliui's and wrap-ansi's copies) builds an Intl.Segmenter and Unicode property regexes
 * (`\p{RGI_Emoji}` among them) as it loads: ~35 ms of every command's start here, before yargs has parsed anything.
 * What it measures is help text, printable ASCII whose width is its length (string-width's own fast path). Each copy
 * is replaced by a stand-in that answers that case and loads the real module the first time it is asked about any
 * other text (esbuild bundles a module reached only by `require` to be evaluated when first required).
 */
const deferredModules: Plugin = {
  name: 'deferred-modules',
  setup(plugin) {
    plugin.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === DEFERRED) return undefined;
      const real = await plugin.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: DEFERRED });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'deferred' };
    });
    plugin.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => ({ contents: deferredStringWidth(args.path), loader: 'js', resolveDir: dirname(args.path) }));
  },
};

/**
 * The CLI as one CommonJS script, what a Single Executable Application runs: no top-level await, no import.meta,
 * no require of anything but Node's own modules. What has native parts is left out (STAND_INS): drivelist (the
 * host falls back to lsblk) and ssh2.
 */
export async function bundleCli(entry: string, outfile: string, info: BuildInfo): Promise<void> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    // Error classes name themselves (`this.name = new.target.name`): --json output and reports show those names.
    keepNames: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: {
      FIOUP_OFFLINE_BUILD: JSON.stringify(info),
      // yargs finds its locale files from import.meta.url; in the binary there are none, and it speaks English.
      'import.meta.url': 'FIOUP_OFFLINE_SCRIPT_URL',
    },
    banner: { js: "const FIOUP_OFFLINE_SCRIPT_URL = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [inlineSqliteWasm, standIns, deferredModules],
  });
  const warnings = result.warnings.filter((warning) => !warning.location?.file.includes('node_modules/'));
  if (warnings.length) throw new Error(`bundling ${entry}: ${warnings.map((warning) => warning.text).join('; ')}`);
}
