import { describe, expect, it } from 'vitest';
import { parseBinding } from './binding.js';

describe('parseBinding', () => {
  it("accepts the Python original's dotted form", () => {
    expect(parseBinding('helloworld.api.do_hello')).toEqual({ module: 'helloworld/api', exportName: 'do_hello' });
  });
  it('accepts module#export, with folders and extensions', () => {
    expect(parseBinding('src/handlers/pets#listPets')).toEqual({ module: 'src/handlers/pets', exportName: 'listPets' });
    expect(parseBinding('./pets.ts#list')).toEqual({ module: './pets.ts', exportName: 'list' });
  });
  it('rejects values naming no module', () => {
    expect(parseBinding('do_hello')).toBeUndefined();
    expect(parseBinding('a..b')).toBeUndefined();
    expect(parseBinding('mod#')).toBeUndefined();
  });
});
