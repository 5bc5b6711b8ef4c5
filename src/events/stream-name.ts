/**
 * A kind of stream named `<prefix>-<id>`: how its name is made and how the id is read back.
 * Each aggregate declares one beside its events; nothing else writes or parses stream names.
 */
export const streamNaming = (prefix: string) => {
  const head = `${prefix}-`;
  return {
    name: (id: string): string => `${head}${id}`,
    /** The id, if `stream` is of this kind. */
    idOf: (stream: string): string | undefined =>
      stream.startsWith(head) && stream.length > head.length ? stream.slice(head.length) : undefined,
  };
};
