/**
 * A lab namespace's status machine: live → deleting → deleted (a failed deletion stays deleting and
 * is tried again). The decider's state and the view take it from here; the contract's Namespace
 * does not show it (a deleted lab leaves the list).
 */
export type NamespaceStatus = 'live' | 'deleting' | 'deleted';
