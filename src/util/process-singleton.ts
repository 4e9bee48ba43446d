/**
 * The one `T` of this process, made by `make` on first use and kept on `globalThis` under
 * `Symbol.for(key)`: a service that ends up with two copies of klue (dist and source in tests,
 * or two installs) still shares one registry, one context storage, one runtime.
 */
export function processSingleton<T>(key: string, make: () => T): T {
  const holder = globalThis as unknown as Record<symbol, T | undefined>;
  return (holder[Symbol.for(key)] ??= make());
}
