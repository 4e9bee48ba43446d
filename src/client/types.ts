import type { Operation } from '../spec/operations.js';
import type { SpecFile } from '../spec/spec-file.js';

/** What the client needs of a loaded API (the service's `LoadedApi`, which this layer may not import). */
export interface LoadedApiView {
  spec: SpecFile;
  operations: readonly Operation[];
}
