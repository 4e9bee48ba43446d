import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findConfigFile, loadConfig } from '../core/config/load-config.js';

/** What the deployment templates need to know about a service; everything else stays in its config. */
export interface DeployTarget {
  /** The service name (`name:` in the config). */
  name: string;
  /** Port the container listens on and exposes. */
  port: number;
  /** Major (or exact) Node.js version of the base image, e.g. `20` or `22.11`. */
  nodeVersion: string;
  /** `with_async: true`: the deployment needs Redis and may run extra workers. */
  withAsync: boolean;
  /** Environment variables that hold secrets, to be provided at run time and never written into a file. */
  secrets: string[];
  /** `async.shutdown_timeout` in ms: how long stopping workers may take to finish their active tasks. */
  shutdownTimeoutMs: number;
}

export interface ReadDeployTargetOptions {
  /** The service folder. Default: the current directory. */
  dir?: string;
  /** Port of the container. Default 8080. */
  port?: number;
  /** Node.js version of the base image. Default `20`. */
  nodeVersion?: string;
}

export interface ReadDeployTargetResult {
  target: DeployTarget;
  /** Things in the service that will bite in a container, for the person running `klue deploy init`. */
  warnings: string[];
}

// Read raw, before loadConfig substitutes them: only the secret *names* are wanted here.
function readRawConfig(dir: string): Record<string, unknown> {
  const file = findConfigFile(dir);
  if (!file) return {};
  const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Validates the service's config with `loadConfig` and extracts what the templates need.
 * Generating deployment files must not require the production secrets, so secrets the
 * environment lacks get a throwaway value for the duration of the load; only their names
 * are used.
 */
export async function readDeployTarget(options: ReadDeployTargetOptions = {}): Promise<ReadDeployTargetResult> {
  const dir = resolve(options.dir ?? process.cwd());
  const raw = readRawConfig(dir);
  const names = stringList(raw.env_secrets);
  const missing = names.filter((n) => !process.env[n]);
  // 32+ characters so that it passes the config's minimum lengths (async.secret).
  for (const n of missing) process.env[n] = 'klue-deploy-placeholder-not-a-secret';
  let config;
  try {
    config = await loadConfig({ dir });
  } finally {
    for (const n of missing) delete process.env[n];
  }

  const warnings: string[] = [];
  const secrets = [...names];
  const asyncSection = typeof raw.async === 'object' && raw.async !== null ? (raw.async as Record<string, unknown>) : {};
  if (config.with_async) {
    // Without async.secret klue reads KLUE_ASYNC_SECRET, and production refuses to start without either.
    if (asyncSection.secret === undefined) secrets.push('KLUE_ASYNC_SECRET');
    if (asyncSection.redis_url !== undefined) {
      warnings.push('async.redis_url is set in the config: it wins over the REDIS_URL these files pass to the container');
    }
  }
  for (const [key, value] of [['jwt_secret', raw.jwt_secret], ['async.secret', asyncSection.secret]] as const) {
    if (typeof value === 'string' && !names.includes(value)) {
      warnings.push(`${key} is written in the config itself and will be copied into the image: name an env_secrets variable instead`);
    }
  }
  if (!existsSync(join(dir, 'package-lock.json'))) {
    warnings.push('no package-lock.json: the Dockerfile runs npm ci, which needs one (run npm install)');
  }
  const pkgFile = join(dir, 'package.json');
  const pkg = existsSync(pkgFile) ? (JSON.parse(readFileSync(pkgFile, 'utf8')) as { dependencies?: Record<string, string> }) : {};
  if (!pkg.dependencies?.klue) {
    warnings.push("package.json does not list klue in dependencies: npm ci --omit=dev will not install it and the image's CMD will fail");
  }

  return {
    target: {
      name: config.name,
      port: options.port ?? 8080,
      nodeVersion: options.nodeVersion ?? '22',
      withAsync: config.with_async,
      secrets: [...new Set(secrets)],
      shutdownTimeoutMs: config.async.shutdown_timeout,
    },
    warnings,
  };
}
