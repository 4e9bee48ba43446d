import type { Operation } from '../spec/operations.js';
import { clientMethodName } from './client-operation.js';

function pascal(s: string): string {
  return s.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
}

const hasRequired = (schema: { required?: unknown } | undefined) => Array.isArray(schema?.required) && schema.required.length > 0;

/** The key of an operation of a called API in the generated `<Api>Operations` interface. */
export function operationsKey(op: Operation): string {
  return op.operationId ?? `${op.method}${pascal(op.path)}`;
}

/** The parameters of one client method: its input, typed from the operation's parts, and the call options. */
function inputParams(op: Operation, ref: string): string {
  const options = 'options?: ClientCallOptions';
  if (op.body && !op.params && !op.querystring && !op.headers) return `body${op.bodyRequired ? '' : '?'}: ${ref}['body'], ${options}`;
  const parts: [string, boolean][] = [];
  if (op.params) parts.push([`path: ${ref}['path']`, true]);
  if (op.querystring) parts.push([`query${hasRequired(op.querystring) ? '' : '?'}: ${ref}['query']`, hasRequired(op.querystring)]);
  if (op.headers) parts.push([`headers${hasRequired(op.headers) ? '' : '?'}: ${ref}['headers']`, hasRequired(op.headers)]);
  if (op.body) parts.push([`body${op.bodyRequired ? '' : '?'}: ${ref}['body']`, op.bodyRequired]);
  if (parts.length === 0) return `input?: Record<string, never>, ${options}`;
  const required = parts.some(([, r]) => r);
  return `input${required ? '' : '?'}: { ${parts.map(([p]) => p).join('; ')} }, ${options}`;
}

/**
 * The client part of `types/<api>.ts` for an API the service calls: an interface with one
 * method per operation (its input and result typed from `<Api>Operations`), and the member that
 * types `ApiPool.<api>.client` with it.
 */
export function clientTypesSource(api: string, operations: readonly Operation[], opsTitle: string): { declarations: string; member: string } {
  const title = `${pascal(api)}Client`;
  const methods = operations.map((op) => {
    const ref = `${opsTitle}[${JSON.stringify(operationsKey(op))}]`;
    return `  /** ${op.method.toUpperCase()} ${op.path} */\n  ${JSON.stringify(clientMethodName(op))}(${inputParams(op, ref)}): Promise<${ref}['response']>;`;
  });
  const declarations = `import type { ClientCallOptions } from 'klue';

/** \`ApiPool.${api}.client\`: a method per operation of the API this service calls. */
export interface ${title} {
${methods.join('\n')}
}

`;
  return { declarations, member: `client: ${title};` };
}
