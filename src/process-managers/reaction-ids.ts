import { v5 as uuidv5 } from 'uuid';

/** The gateway's namespace for name-based (v5) event ids. */
const REACTION_NAMESPACE = '3f0b9c52-7a61-4d8e-b1c4-6e2a9d05f7b3';

/**
 * The id of the `index`-th event a reaction writes. Deterministic, so a reaction performed again
 * after a crash writes the same ids, and the runner recognises its first event as the proof the
 * reaction is done.
 */
export const reactionEventId = (processManager: string, key: string, index: number): string =>
  uuidv5(`${processManager}\u0000${key}\u0000${index}`, REACTION_NAMESPACE);
