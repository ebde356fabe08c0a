// What each test file cost QEMU in host CPU time: a measure of the guest's
// work that does not depend on how loaded the host is (the wall time does).

/** CPU seconds (user + system) process `pid` has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** One test file's share of QEMU's CPU time. */
export interface FileCpu {
  /** The guest command (run) it belongs to. */
  run: string;
  /** The file as `deno test` names it (`./tests/x_test.ts`). */
  file: string;
  /** QEMU's CPU seconds from the file's first line to the next file's (or the run's end). */
  cpu: number;
}

/**
 * Follows the guest's console lines and charges QEMU's CPU time to the test
 * file `deno test` is running (from its `running N tests from FILE` line to
 * the next one, or to the end of the guest command).
 */
export class CpuByFile {
  #read: () => number | undefined;
  #run = "";
  #open?: { file: string; from: number };
  /** The files seen so far, in order. */
  readonly files: FileCpu[] = [];

  /** @param read returns QEMU's CPU seconds so far */
  constructor(read: () => number | undefined) {
    this.#read = read;
  }

  /** Feeds one console line. */
  line(text: string): void {
    const running = /^vm: running ([A-Za-z0-9_-]+) at /.exec(text);
    const file = /^running \d+ tests? from (\S+)/.exec(text);
    const done = /^vm: [A-Za-z0-9_-]+ done at /.test(text);
    if (!running && !file && !done) return;
    const now = this.#read();
    if (now === undefined) return;
    this.#close(now);
    if (running) this.#run = running[1];
    if (file) this.#open = { file: file[1], from: now };
  }

  #close(now: number): void {
    if (!this.#open) return;
    this.files.push({ run: this.#run, file: this.#open.file, cpu: now - this.#open.from });
    this.#open = undefined;
  }
}
