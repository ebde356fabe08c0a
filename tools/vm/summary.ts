// Reads Deno's test summary line.

/** Counts from `deno test`'s final summary. */
export interface TestCounts {
  /** Tests that passed. */
  passed: number;
  /** Tests that failed. */
  failed: number;
  /** Tests that were ignored. */
  ignored: number;
}

/**
 * Parses the last `ok | N passed | M failed | K ignored` (or `FAILED | …`)
 * summary in `output`; undefined when there is none (e.g. the run crashed).
 */
export function parseDenoSummary(output: string): TestCounts | undefined {
  const re =
    /(?:^|\n)\s*(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/g;
  let last: RegExpExecArray | undefined;
  for (let m = re.exec(output); m; m = re.exec(output)) last = m;
  if (!last) return undefined;
  return { passed: Number(last[1]), failed: Number(last[2]), ignored: Number(last[3] ?? 0) };
}

/** The plain summary line CI reads: `N passed, N failed` (plus `, K skipped` when some were). */
export function summaryLine(c: TestCounts): string {
  return `${c.passed} passed, ${c.failed} failed${c.ignored ? `, ${c.ignored} skipped` : ""}`;
}

/** The sum of several runs' counts. */
export function addCounts(...runs: TestCounts[]): TestCounts {
  return runs.reduce(
    (a, c) => ({
      passed: a.passed + c.passed,
      failed: a.failed + c.failed,
      ignored: a.ignored + c.ignored,
    }),
    { passed: 0, failed: 0, ignored: 0 },
  );
}

/**
 * The names of the tests (and steps) `deno test` reported as ignored, in
 * order: with this project's rule, each names the feature it lacks.
 */
export function ignoredTests(output: string): string[] {
  return [...output.matchAll(/^\s*(.+?) \.\.\. ignored(?: \([^)]*\))?\s*$/gm)].map((m) => m[1]);
}

/** Seconds in one of `deno test`'s durations: `741µs`, `3ms`, `2s`, `1m8s`, `1h2m`. */
function durationSeconds(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?(?:(\d+)µs)?$/.exec(text);
  if (!m) return 0;
  const [h, min, s, ms, us] = m.slice(1).map((x) => Number(x ?? 0));
  return h * 3600 + min * 60 + s + ms / 1e3 + us / 1e6;
}

/**
 * Each test file's time in seconds, in run order: the sum of the times
 * `deno test` printed for the file's tests (their steps are inside them).
 */
export function fileSeconds(output: string): { file: string; seconds: number }[] {
  const files: { file: string; seconds: number }[] = [];
  // A test's result ends its line; after "has been running for over" it
  // comes on a line of its own, indented by one space. Steps are indented by two.
  const re =
    /^(?:running \d+ tests? from (\S+)|(?: ?\S.*?\.\.\. ?| )(?:ok|FAILED|ignored) \(([^)]+)\))\s*$/gm;
  for (const m of output.matchAll(re)) {
    if (m[1] !== undefined) files.push({ file: m[1], seconds: 0 });
    else if (files.length) files[files.length - 1].seconds += durationSeconds(m[2]);
  }
  return files;
}
