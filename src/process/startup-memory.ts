import v8 from 'node:v8';

/**
 * Gives back the memory that loading the service made V8 take, once a process has loaded
 * everything it will run. Loading specs, compiling validators and importing modules allocates
 * fast, so V8 grows the young generation to its maximum (two 16 MB semi-spaces); an idle
 * process keeps it, and its pages stay resident, until V8's memory reducer notices the idle
 * heap, some 15 s later. Returns the ms the collection took, or undefined where Node lacks the API.
 *
 * `v8.queryObjects` is the public way to get V8's memory-reducing full collection (the one a
 * heap snapshot runs: it shrinks the young generation and releases freed pages) without a
 * snapshot's cost; `gc()` from `--expose-gc` is a plain full collection and leaves the young
 * generation at its size. The query itself is for a class with no instances, so it finds
 * nothing. The young generation grows back under load as it does in a fresh process.
 */
export function releaseStartupMemory(): number | undefined {
  // Node 20.13+; on 20.11–20.12 the memory reducer still does the same, only later.
  const query = (v8 as Partial<typeof v8>).queryObjects;
  if (typeof query !== 'function') return undefined;
  const start = performance.now();
  // Node 20 marks queryObjects experimental and says so on stderr the first time; here it is
  // only a way to collect, so that warning would be noise in every worker's output.
  const own = Object.getOwnPropertyDescriptor(process, 'emitWarning');
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes('queryObjects')) Reflect.apply(emitWarning, process, [warning, ...rest]);
  };
  try {
    query(NoInstances, { format: 'count' });
  } finally {
    if (own) Object.defineProperty(process, 'emitWarning', own);
    else delete (process as Partial<NodeJS.Process>).emitWarning;
  }
  return performance.now() - start;
}

class NoInstances {}
