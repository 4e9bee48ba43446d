import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES } from './catalog.js';
import { KlueError } from './klue-error.js';

const readme = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const catalogSection = readme.slice(readme.indexOf('### Error catalog'));
const documented = new Map(
  [...catalogSection.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] ?? '', Number(m[2])] as const),
);

describe('the error catalog', () => {
  it.each(ERROR_CODES)('%s is documented in the README with its status', (code) => {
    expect(documented.get(code)).toBe(ERROR_CATALOG[code].status);
  });

  it('documents no code that does not exist', () => {
    expect([...documented.keys()].filter((c) => !(c in ERROR_CATALOG))).toEqual([]);
  });

  it('renders the standard error body', () => {
    const body = new KlueError('TOKEN_EXPIRED').toBody();
    expect(body).toEqual({
      status: 401,
      error: 'TOKEN_EXPIRED',
      error_description: 'The bearer token has expired',
      error_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      user_message: 'The bearer token has expired',
    });
    expect(new KlueError('UNHANDLED_SERVER_ERROR').toBody().user_message).toBe('Something went wrong. Please try again later.');
  });
});
