import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads ms numbers and unit strings', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('42')).toBe(42);
  });
  it('rejects what is not a duration', () => {
    expect(() => parseDuration('soon', 'delay')).toThrow(/delay: 'soon' is not a duration/);
    expect(() => parseDuration(-1)).toThrow(TypeError);
  });
});
