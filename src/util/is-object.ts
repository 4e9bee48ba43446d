/** A JSON object (not null, not an array): what YAML mappings and JSON objects parse to. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
