// Lets `node` run the TypeScript benches directly: each .ts file is transpiled on load
// with the project's compiler options (decorator metadata included, which NestJS needs
// and esbuild cannot emit). Type checking stays with `npm run lint`.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

const configFile = join(__dirname, '..', 'tsconfig.json');
const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
const { options } = ts.convertCompilerOptionsFromJson(
  config.compilerOptions,
  join(__dirname, '..'),
);
const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true };

require.extensions['.ts'] = (module, filename) => {
  const source = readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
