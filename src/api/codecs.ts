import * as t from 'io-ts';

/** A string of bounded length, whose failure message says the length it got. */
export const boundedString = (min: number, max: number, pattern?: { regex: RegExp; name: string }) =>
  new t.Type<string, string, unknown>(
    pattern ? pattern.name : `string of ${min}..${max} characters`,
    (value): value is string =>
      typeof value === 'string' &&
      value.length >= min &&
      value.length <= max &&
      (!pattern || pattern.regex.test(value)),
    (value, context) => {
      if (typeof value !== 'string') return t.failure(value, context);
      if (value.length < min || value.length > max)
        return t.failure(value, context, `expected ${min}..${max} characters, got ${value.length}`);
      if (pattern && !pattern.regex.test(value)) return t.failure(value, context, `expected a ${pattern.name}`);
      return t.success(value);
    },
    t.identity,
  );
