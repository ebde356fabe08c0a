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
