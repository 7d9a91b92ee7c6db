import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AppConfig, configSchema } from './config.schema';
import { ENVIRONMENT_VARIABLES } from './environment-variables';

export class ConfigError extends Error {}

type Tree = { [key: string]: unknown };

const isTree = (value: unknown): value is Tree =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function merge(base: Tree, override: Tree): Tree {
  const result: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    result[key] = isTree(value) && isTree(result[key]) ? merge(result[key], value) : value;
  }
  return result;
}

function readYaml(file: string): Tree {
  const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (parsed == null) return {};
  if (!isTree(parsed)) throw new ConfigError(`${file}: expected a mapping at the top level`);
  return parsed;
}

function parseEnvValue(name: string, raw: string): unknown {
  if (name === 'ICE_SERVERS') {
    try {
      return JSON.parse(raw);
    } catch {
      throw new ConfigError(`${name}: expected a JSON array of {urls, username?, credential?}`);
    }
  }
  if (name === 'TURN_URLS' || name === 'TURN_ALLOWED_PEER_RANGES' || name === 'WEBHOOK_URLS') {
    return raw.split(',').map((item) => item.trim());
  }
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

function environmentOverrides(env: NodeJS.ProcessEnv): Tree {
  let tree: Tree = {};
  for (const [name, path] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = parseEnvValue(name, raw);
    const leaf = path
      .split('.')
      .reverse()
      .reduce<unknown>((inner, key) => ({ [key]: inner }), value);
    tree = merge(tree, leaf as Tree);
  }
  return tree;
}

/**
 * Builds the configuration from config/default.yaml, then config/<mode>.yaml, then the
 * environment, and validates the result. Throws a ConfigError naming every bad setting.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  configDir = env.CONFIG_DIR ?? join(process.cwd(), 'config'),
): AppConfig {
  const fromEnv = environmentOverrides(env);
  let tree = readYaml(join(configDir, 'default.yaml'));
  const mode = (fromEnv.mode ?? tree.mode) as string | undefined;
  const modeFile = join(configDir, `${mode}.yaml`);
  if (mode && existsSync(modeFile)) tree = merge(tree, readYaml(modeFile));
  tree = merge(tree, fromEnv);

  const result = configSchema.safeParse(tree);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return result.data;
}
