import { fileURLToPath } from 'node:url';

/** klue's own CLI script, for the processes klue starts itself (workers, the type generator). */
export const klueBin: string = fileURLToPath(new URL('../../bin/klue.js', import.meta.url));
