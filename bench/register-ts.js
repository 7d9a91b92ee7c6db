// Lets `node` run the TypeScript benches directly: each .ts file is transpiled on load
// with the project's compiler options (decorator metadata included, which NestJS needs
// and esbuild cannot emit). Type checking stays with `npm run lint`. Transpiled files are
// kept in the machine's cache (keyed by compiler, tsconfig.json and source), since every
// bench and many of their client processes load the whole shard: 3 to 4 s each, uncached.
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const { join } = require('node:path');

const configFile = join(__dirname, '..', 'tsconfig.json');
const cacheDir = join(
  process.env.VIDEO_WINDOW_CACHE ?? join(homedir(), '.cache', 'video-window'),
  'bench-ts',
);
const cacheSalt = [
  require('typescript/package.json').version,
  readFileSync(configFile, 'utf8'),
].join('\0');

let transpile;
/** TypeScript is loaded (and the options read) at the first file the cache does not have. */
function compiler() {
  if (!transpile) {
    const ts = require('typescript');
    const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
    const { options } = ts.convertCompilerOptionsFromJson(
      config.compilerOptions,
      join(__dirname, '..'),
    );
    const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true };
    transpile = (source, fileName) =>
      ts.transpileModule(source, { compilerOptions, fileName }).outputText;
  }
  return transpile;
}

function transpiled(filename, source) {
  const key = createHash('sha256').update(`${cacheSalt}\0${filename}\0${source}`).digest('hex');
  const cached = join(cacheDir, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    const output = compiler()(source, filename);
    try {
      mkdirSync(cacheDir, { recursive: true });
      const partial = `${cached}.${process.pid}`;
      writeFileSync(partial, output);
      renameSync(partial, cached);
    } catch {
      // A read-only cache only costs the next run the transpiling again.
    }
    return output;
  }
}

require.extensions['.ts'] = (module, filename) => {
  module._compile(transpiled(filename, readFileSync(filename, 'utf8')), filename);
};
