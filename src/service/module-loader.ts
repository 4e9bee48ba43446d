import { pathToFileURL } from 'node:url';
import { noteServiceModule } from '../util/service-modules.js';
import { commonJsHint } from './module-format.js';

type Installer = () => void | Promise<void>;

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;
let installer: Installer | undefined;
let installed: Promise<void> | undefined;

/**
 * Names how to make TypeScript importable (the CLI passes tsx's `register`). It runs the first
 * time a service's TypeScript module is imported, not at start: module hooks run on a thread of
 * their own and every import after them goes through it, so klue's own modules load first, at
 * native speed, and a service written in JavaScript never starts that thread (about 30 MB).
 * Without one (klue used as a library under vitest or tsx), imports are left to the host.
 */
export function setTypeScriptLoader(install: Installer): void {
  installer = install;
  installed = undefined;
}

/** Runs the installer once; a failed install is tried again by the next TypeScript import. */
function install(run: Installer): Promise<void> {
  installed ??= (async () => run())().catch((err: unknown) => {
    installed = undefined;
    throw err;
  });
  return installed;
}

/** Imports a module of the service (a handler, the setup module, a task module) by its path. */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (installer && TYPESCRIPT.test(file)) await install(installer);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    // Node's own message names a require() cycle or an unlinked module, not the package.json at fault.
    const hint = commonJsHint(file);
    throw hint ? new Error(`${hint} (${(err as Error).message})`, { cause: err }) : err;
  }
  noteServiceModule(file);
  return mod;
}
