import { setTypeScriptLoader } from '../service/module-loader.js';

/**
 * Makes the service's TypeScript modules importable from a test. Run from the built package
 * (what a service installs), klue is a dependency the test runner leaves to Node's own loader,
 * so `loadService`'s `import()` of a handler is Node's, which cannot load TypeScript: tsx is
 * installed for it, as `bin/klue.js` does. Run from klue's sources (klue's own tests), the runner
 * compiles them and every import they make, and needs nothing.
 */
export function useTypeScriptFromTests(): void {
  if (import.meta.url.endsWith('.ts')) return;
  setTypeScriptLoader(async () => {
    (await import('tsx/esm/api')).register();
  });
}
