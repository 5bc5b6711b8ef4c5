/**
 * `${VAR}` and `${VAR:-default}` in string values, as in a shell or docker compose: an unset
 * `${VAR}` is empty (so an unset SLACK_WEBHOOK_URL turns webhooks off instead of stopping
 * start-up); `${VAR:-default}` uses the default when VAR is unset or empty, and the default may
 * itself hold variables (`${GATEWAY_WORKSPACE:-${GATEWAY_DATA_DIR:-./.gateway}/workspace}`, so
 * one variable can move every path that derives from it); `$${` is a literal `${`.
 */
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

interface Reference {
  readonly value: string;
  /** Where the reference ends, just past its `}`. */
  readonly end: number;
}

/** The `}` closing a default that starts at `start`, stepping over nested `${…}` and `$${`. */
const closingBrace = (text: string, start: number): number | undefined => {
  let depth = 0;
  for (let at = start; at < text.length; at++) {
    if (text.startsWith('$${', at)) at += 2;
    else if (text.startsWith('${', at)) {
      depth++;
      at++;
    } else if (text[at] === '}') {
      if (depth === 0) return at;
      depth--;
    }
  }
  return undefined;
};

/** The `${…}` at `start`, or undefined when the text there is not one (it stays as written). */
const readReference = (text: string, start: number, env: NodeJS.ProcessEnv): Reference | undefined => {
  if (!text.startsWith('${', start)) return undefined;
  NAME.lastIndex = start + 2;
  const name = NAME.exec(text)?.[0];
  if (name === undefined) return undefined;
  const afterName = start + 2 + name.length;
  const set = env[name];
  if (text[afterName] === '}') return { value: set ?? '', end: afterName + 1 };
  if (!text.startsWith(':-', afterName)) return undefined;
  const close = closingBrace(text, afterName + 2);
  if (close === undefined) return undefined;
  const value = set === undefined || set === '' ? interpolateString(text.slice(afterName + 2, close), env) : set;
  return { value, end: close + 1 };
};

export const interpolateString = (value: string, env: NodeJS.ProcessEnv): string => {
  let result = '';
  let at = 0;
  while (at < value.length) {
    if (value.startsWith('$${', at)) {
      result += '${';
      at += 3;
      continue;
    }
    const reference = readReference(value, at, env);
    if (reference) {
      result += reference.value;
      at = reference.end;
    } else {
      result += value[at];
      at++;
    }
  }
  return result;
};

/**
 * Interpolates every string in a parsed YAML tree. A value that is one variable alone
 * (`port: ${PORT:-8000}`) takes the type its text has in YAML: a number, a boolean, or a string.
 */
export const interpolate = (value: unknown, env: NodeJS.ProcessEnv): unknown => {
  if (typeof value === 'string') {
    const whole = readReference(value, 0, env);
    return whole?.end === value.length ? scalarOf(whole.value) : interpolateString(value, env);
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)]));
  }
  return value;
};

const scalarOf = (text: string): string | number | boolean => {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
};
