/** Renders Ajv errors as `path: message` strings, naming the field at fault. */
export function describeAjvErrors(
  errors: readonly { instancePath: string; message?: string; params: Record<string, unknown> }[] | null | undefined,
  root = '',
): string {
  return (errors ?? [])
    .map((e) => {
      let path = root + e.instancePath.replaceAll('/', '.');
      const missing = e.params.missingProperty;
      if (typeof missing === 'string') path = `${path}.${missing}`;
      const extra = e.params.additionalProperty;
      if (typeof extra === 'string') path = `${path}.${extra}`;
      return `${path.replace(/^\./, '') || '(root)'}: ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}
