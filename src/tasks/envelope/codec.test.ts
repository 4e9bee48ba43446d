import { describe, expect, it } from 'vitest';
import { createAjv } from '../../spec/ajv.js';
import { buildModel, modelNameOf, registerModel } from '../../spec/models.js';
import { decodeValue, encodeValue, MAX_DEPTH } from './codec.js';

registerModel('codec.Code', createAjv().compile({ type: 'object', properties: { code: { type: 'string' }, when: {} }, required: ['code'] }));

function roundTrip(value: unknown): unknown {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(value, 'sendEmail', 'args'))));
}

describe('codec', () => {
  it('leaves plain JSON untouched and uncopied', () => {
    const args = ['ann@example.com', { n: 1, list: [true, null, 'x'], nested: { a: -0.5 } }];
    expect(encodeValue(args, 't', 'args')).toBe(args);
    expect(roundTrip(args)).toEqual(args);
  });

  it('keeps undefined in arrays, objects and at the top level', () => {
    const out = roundTrip([undefined, [1, undefined], { a: undefined, b: 2 }]) as unknown[];
    expect(out).toEqual([undefined, [1, undefined], { a: undefined, b: 2 }]);
    expect(out).toHaveLength(3);
    expect(Object.keys(out[2] as object)).toEqual(['a', 'b']);
  });

  it('restores Dates, also nested, and invalid dates', () => {
    const when = new Date('2024-05-06T07:08:09.010Z');
    const out = roundTrip([when, { at: [when] }, new Date(NaN)]) as [Date, { at: Date[] }, Date];
    expect(out[0]).toBeInstanceOf(Date);
    expect(out[0].toISOString()).toBe(when.toISOString());
    expect(out[1].at[0]?.getTime()).toBe(when.getTime());
    expect(Number.isNaN(out[2].getTime())).toBe(true);
  });

  it('restores models at the top level and nested in arrays and objects', () => {
    const code = buildModel('codec.Code', { code: 'A1' });
    const out = roundTrip([code, [code], { deep: { codes: [code] } }]) as [object, object[], { deep: { codes: object[] } }];
    expect(modelNameOf(out[0])).toBe('codec.Code');
    expect(modelNameOf(out[1][0])).toBe('codec.Code');
    expect(modelNameOf(out[2].deep.codes[0])).toBe('codec.Code');
    expect(out[2].deep.codes[0]).toEqual({ code: 'A1' });
  });

  it('keeps Dates inside models', () => {
    const when = new Date('2020-01-01T00:00:00Z');
    const out = roundTrip([buildModel('codec.Code', { code: 'x', when })]) as [{ when: Date }];
    expect(out[0].when).toBeInstanceOf(Date);
    expect(out[0].when.getTime()).toBe(when.getTime());
  });

  it('escapes user objects that contain the tag key', () => {
    const tricky = [{ $klue: 'd', v: 0 }, { $klue: 'm', n: 'codec.Code', v: { code: 'x' } }, { $klue: { $klue: 'u' } }];
    const out = roundTrip(tricky) as unknown[];
    expect(out).toEqual(tricky);
    expect(out[0]).not.toBeInstanceOf(Date);
    expect(modelNameOf(out[1])).toBeUndefined();
  });

  it('accepts shared (non-circular) references', () => {
    const shared = { a: new Date(0) };
    expect(roundTrip([shared, shared])).toEqual([{ a: new Date(0) }, { a: new Date(0) }]);
  });

  it.each([
    [['a', { when: { cache: new Map() } }], 'args[1].when.cache is a Map'],
    [[new Set([1])], 'args[0] is a Set'],
    [[() => 1], 'args[0] is a function'],
    [[{ n: 10n }], 'args[0].n is a BigInt'],
    [[Symbol('s')], 'args[0] is a Symbol'],
    [[{ 'odd key': NaN }], 'args[0]["odd key"] is NaN'],
    [[[1, Infinity]], 'args[0][1] is Infinity'],
    [[new (class Thing {})()], 'args[0] is a Thing'],
    [[/re/], 'args[0] is a RegExp'],
    [[Buffer.from('x')], 'args[0] is a Buffer'],
  ])('rejects %o naming the task and path', (args, message) => {
    expect(() => encodeValue(args, 'sendEmail', 'args')).toThrow(TypeError);
    expect(() => encodeValue(args, 'sendEmail', 'args')).toThrow(
      `sendEmail: ${message}; task arguments must be JSON values, Date or klue models`,
    );
  });

  it('refuses values nested deeper than MAX_DEPTH with a TypeError naming the path, never a stack overflow', () => {
    // What a 6 KB request body parses to: 3,000 nested objects, then 3,000 nested arrays.
    const deepObject = JSON.parse(`${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`) as unknown;
    const deepArray = JSON.parse(`${'['.repeat(3000)}1${']'.repeat(3000)}`) as unknown;
    expect(() => encodeValue([deepObject], 'sendEmail', 'args')).toThrow(TypeError);
    expect(() => encodeValue([deepObject], 'sendEmail', 'args')).toThrow(
      new RegExp(`^sendEmail: args\\[0\\](\\.a){${MAX_DEPTH}} is nested more than ${MAX_DEPTH} levels deep; task arguments must be JSON values, Date or klue models$`),
    );
    expect(() => encodeValue(deepArray, 'sendEmail', 'result', 'task results')).toThrow(/^sendEmail: result(\[0\]){101} is nested more than 100 levels deep; task results must/);
    // As deep as allowed still goes through, both ways.
    const deepest = JSON.parse(`${'['.repeat(MAX_DEPTH)}1${']'.repeat(MAX_DEPTH)}`) as unknown;
    expect(roundTrip(deepest)).toEqual(deepest);
  });

  it('rejects cycles', () => {
    const a: Record<string, unknown> = { b: {} };
    (a.b as Record<string, unknown>).back = a;
    expect(() => encodeValue([a], 'sendEmail', 'args')).toThrow('sendEmail: args[0].b.back is a circular reference');
  });

  it('names results in result errors', () => {
    expect(() => encodeValue({ m: new Map() }, 'report', 'result', 'task results')).toThrow(
      'report: result.m is a Map; task results must be JSON values, Date or klue models',
    );
  });

  it('fails on a model this process does not know', () => {
    expect(() => decodeValue({ $klue: 'm', n: 'nope.Missing', v: {} })).toThrow(/Unknown model nope.Missing/);
  });
});
