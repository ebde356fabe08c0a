// The feature probes' cache is the one per-process probe cache of
// src/sys/probe_cache.ts, which the program loader's own type check shares.

export { _forget, _injectOutcome, memo } from "../sys/probe_cache.ts";
