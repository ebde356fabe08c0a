// Splits the guest's test runs over several guests booted side by side.
//
// Under TCG one guest running `deno test` keeps about one host core busy, so
// on a host with more cores N guests (each its own kernel, so the tests cannot
// see each other) finish the host suite nearly N times sooner. The files are
// dealt out by their known cost, largest first, each to the guest with the
// least work so far.

/** One `deno test` run as the guest plans it. */
export interface ShardRun {
  /** File-name-safe name, also the label in the summary. */
  name: string;
  /** Arguments kept in every piece of the run (e.g. `--ignore=`). */
  fixed: string[];
  /**
   * The test files or dirs the run can be split into, in run order; a dir is
   * never split. Empty: the run goes whole to one guest.
   */
  parts: string[];
}

/** One guest's share of a run: the run, and the parts of it this guest runs. */
export interface ShardPiece<R extends ShardRun> {
  /** The run this piece belongs to. */
  run: R;
  /** The parts (all of them for a run that is not split). */
  parts: string[];
}

/**
 * Deals `runs` out to at most `jobs` guests, balancing `cost(part)` (a
 * whole run costs `cost(run.name)`). Each guest runs its pieces in the runs'
 * order and each piece's parts in their order, so a run that must come after
 * another in a guest (tests/vm/ after the host suite) still does. Guests left
 * with nothing are dropped.
 */
export function shardRuns<R extends ShardRun>(
  runs: R[],
  jobs: number,
  cost: (part: string) => number,
): ShardPiece<R>[][] {
  if (!(jobs >= 1) || !Number.isInteger(jobs)) {
    throw new RangeError(`jobs must be a positive integer, not ${jobs}`);
  }
  interface Item {
    run: number;
    part?: string;
    order: number;
    cost: number;
  }
  const items: Item[] = [];
  runs.forEach((r, run) => {
    if (!r.parts.length) items.push({ run, order: items.length, cost: cost(r.name) });
    for (const part of r.parts) items.push({ run, part, order: items.length, cost: cost(part) });
  });
  const bins: { load: number; items: Item[] }[] = Array.from(
    { length: jobs },
    () => ({ load: 0, items: [] }),
  );
  // Largest first; equal costs keep their order, so the plan is the same every time.
  for (const it of [...items].sort((a, b) => b.cost - a.cost || a.order - b.order)) {
    let best = bins[0];
    for (const b of bins) if (b.load < best.load) best = b;
    best.items.push(it);
    best.load += it.cost;
  }
  return bins.filter((b) => b.items.length).map((b) => {
    const mine = b.items.sort((x, y) => x.order - y.order);
    const pieces: ShardPiece<R>[] = [];
    for (const it of mine) {
      const last = pieces.at(-1);
      if (last && last.run === runs[it.run]) last.parts.push(it.part!);
      else pieces.push({ run: runs[it.run], parts: it.part === undefined ? [] : [it.part] });
    }
    return pieces;
  });
}

/** Whether `name` is a file `deno test` picks up in a dir: `*_test.ts`, `*.test.js`, `test.ts`… */
export function isTestFile(name: string): boolean {
  return /(?:^|[._])test\.(?:ts|tsx|mts|js|mjs|jsx)$/.test(name);
}

/**
 * The test files under `dir` that `deno test dir --ignore=…` would run, as
 * absolute paths in name order; `ignored` holds absolute files or dirs.
 */
export async function listTestFiles(dir: string, ignored: string[] = []): Promise<string[]> {
  const out: string[] = [];
  const skip = (p: string) =>
    ignored.some((i) => p === i.replace(/\/$/, "") || p.startsWith(i.replace(/\/?$/, "/")));
  const walk = async (d: string) => {
    const entries = [];
    for await (const e of Deno.readDir(d)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = `${d}/${e.name}`;
      if (skip(p)) continue;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && isTestFile(e.name)) out.push(p);
    }
  };
  await walk(dir.replace(/\/$/, ""));
  return out;
}
