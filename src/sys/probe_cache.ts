// The per-process cache of probe outcomes, one for every probe: the feature
// probes (src/features) and the program loader's "does the kernel know this
// program type" check (src/program/load.ts). Every probe runs at most once
// per process; tests may inject outcomes (to exercise the "not supported" path
// on a kernel that has everything) and clear the cache.

const cache = new Map<string, unknown>();

/** Runs `probe` once for `key` and remembers its outcome. Exceptions are not cached. */
export function memo<T>(key: string, probe: () => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  const v = probe();
  cache.set(key, v);
  return v;
}

/**
 * Test hook: makes the probe for `key` answer `outcome` without running.
 * Keys: `map:<n>`, `prog:<n>`, `helper:<prog>:<id>`, `misc:<name>`,
 * `btf:kinds` (see the probe modules for each outcome's shape) and
 * `prog-known:<type>:<attach type>` (a boolean, the program loader's).
 */
export function _injectOutcome(key: string, outcome: unknown): void {
  cache.set(key, outcome);
}

/** Test hook: forgets one outcome, or all of them. */
export function _forget(key?: string): void {
  if (key === undefined) cache.clear();
  else cache.delete(key);
}
