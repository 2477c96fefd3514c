import { isObject, objectAt, stringAt } from '../../src/core';

describe('safe JSON reads', () => {
  test.each<[unknown, boolean]>([
    [{}, true],
    [{ a: 1 }, true],
    [null, false],
    [undefined, false],
    [[], false],
    ['x', false],
    [0, false],
    [true, false],
  ])('isObject(%p) is %p; objectAt returns it only then', (value, object) => {
    expect(isObject(value)).toBe(object);
    expect(objectAt(value)).toBe(object ? value : undefined);
  });

  test.each<[unknown, string | undefined]>([
    ['x', 'x'],
    ['', ''],
    [1, undefined],
    [null, undefined],
    [['x'], undefined],
    [{}, undefined],
  ])('stringAt(%p)', (value, expected) => {
    expect(stringAt(value)).toBe(expected);
  });
});
