import { describe, expect, it } from 'vitest';
import { uniqueColumnNames } from '../../../src/formats/index.js';

const cols = (...names: string[]) => names.map((name) => ({ name, type: 'INTEGER' }));

describe('uniqueColumnNames', () => {
  it('leaves distinct names alone', () => {
    expect(uniqueColumnNames(cols('id', 'name', '?column?'))).toEqual(['id', 'name', '?column?']);
  });

  it('suffixes repeats with _2, _3, … in column order', () => {
    expect(uniqueColumnNames(cols('a', 'a', 'b', 'a'))).toEqual(['a', 'a_2', 'b', 'a_3']);
  });

  it('never takes a name another column already has', () => {
    expect(uniqueColumnNames(cols('a', 'a', 'a_2'))).toEqual(['a', 'a_3', 'a_2']);
    expect(uniqueColumnNames(cols('a_2', 'a', 'a'))).toEqual(['a_2', 'a', 'a_3']);
  });

  it('is case-sensitive, like quoted SQL identifiers', () => {
    expect(uniqueColumnNames(cols('A', 'a'))).toEqual(['A', 'a']);
  });
});
