/**
 * Credentials written into URLs (`https://user:token@host/x.git`) are never shown: repository
 * URLs are stored without them since the gateway learned to refuse them, but older events
 * (and error texts that quoted a URL) may still hold some, so every reader that shows event data
 * passes it through here.
 */

/** ssh's user name is no secret (it is usually `git`) and ssh needs it; only a password after it is. */
const SSH_SCHEMES = new Set(['ssh', 'git+ssh', 'ssh+git']);

/** `scheme://userinfo@`: the userinfo runs to the last `@` before the path, as URL parsers read it. */
const USERINFO = /\b([a-z][a-z0-9+.-]*):\/\/([^\s/?#]*)@/gi;

/** The text with the userinfo of every URL in it removed (`https://user:token@host/x.git` → `https://host/x.git`). */
export const withoutUrlCredentials = (text: string): string =>
  !text.includes('@')
    ? text
    : text.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
        const user = userinfo.split(':')[0]!;
        return SSH_SCHEMES.has(scheme.toLowerCase()) && user !== '' ? `${scheme}://${user}@` : `${scheme}://`;
      });

/**
 * A JSON value with the credentials of every URL in its strings removed, and the paths
 * (`repos[0].url`) where something was removed; the value itself when nothing was.
 */
export const redactUrlCredentials = <T>(value: T): { readonly value: T; readonly paths: readonly string[] } => {
  const paths: string[] = [];
  const walk = (item: unknown, path: string): unknown => {
    if (typeof item === 'string') {
      const redacted = withoutUrlCredentials(item);
      if (redacted !== item) paths.push(path);
      return redacted;
    }
    if (Array.isArray(item)) {
      const items = item.map((entry, index) => walk(entry, `${path}[${index}]`));
      return items.every((entry, index) => entry === item[index]) ? item : items;
    }
    if (item !== null && typeof item === 'object') {
      const entries = Object.entries(item).map(([key, entry]): [string, unknown] => [
        key,
        walk(entry, path === '' ? key : `${path}.${key}`),
      ]);
      return entries.every(([key, entry]) => entry === (item as Record<string, unknown>)[key])
        ? item
        : Object.fromEntries(entries);
    }
    return item;
  };
  const redacted = walk(value, '') as T;
  return { value: redacted, paths };
};
