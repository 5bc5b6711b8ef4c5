/**
 * `${VAR}` and `${VAR:-default}` in string values, as in a shell or docker compose: an unset
 * `${VAR}` is empty (so an unset SLACK_WEBHOOK_URL turns webhooks off instead of stopping
 * start-up); `${VAR:-default}` uses the default when VAR is unset or empty; `$${` is a literal `${`.
 */
const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export const interpolateString = (value: string, env: NodeJS.ProcessEnv): string =>
  value.replace(PATTERN, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const set = env[name!];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    return set ?? '';
  });

const WHOLE_VARIABLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Interpolates every string in a parsed YAML tree. A value that is one variable alone
 * (`port: ${PORT:-8000}`) takes the type its text has in YAML: a number, a boolean, or a string.
 */
export const interpolate = (value: unknown, env: NodeJS.ProcessEnv): unknown => {
  if (typeof value === 'string') {
    const result = interpolateString(value, env);
    return WHOLE_VARIABLE.test(value) ? scalarOf(result) : result;
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
