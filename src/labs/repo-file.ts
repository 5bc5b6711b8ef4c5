/** A file of a repository at a commit, as a lab receives it. */
export interface RepoFile {
  readonly path: string;
  readonly content: Buffer;
  /** Not UTF-8 text: it travels as a ConfigMap's binaryData. */
  readonly binary: boolean;
  readonly executable: boolean;
}
