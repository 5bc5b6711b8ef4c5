/** The runtimes a lab runs a repository with. */
export type RuntimeKind = 'uv' | 'camel-jbang' | 'node';

/** Where the code is, writable, in the lab's pod and in its test Jobs: an emptyDir the init container fills. */
export const APP_DIR = '/app';
