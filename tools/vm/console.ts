// Turns the guest's serial console stream into plain log lines.

// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)/g;

/**
 * A line splitter for console output: strips terminal control sequences
 * (SeaBIOS resets the terminal, clears the screen and turns off line
 * wrapping) and carriage returns, and hands complete lines to `emit`.
 */
export class ConsoleLines {
  #dec = new TextDecoder();
  #partial = "";
  #emit: (line: string) => void;

  /** @param emit receives each complete, cleaned line (without its newline) */
  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  /** Feeds a chunk of raw console bytes. */
  push(chunk: Uint8Array): void {
    // A terminal reset (ESC c) starts a new screen: treat it as a line break.
    const text = (this.#partial + this.#dec.decode(chunk, { stream: true }))
      .replaceAll("\x1bc", "\n");
    const lines = text.split("\n");
    this.#partial = lines.pop() ?? "";
    for (const l of lines) this.#emit(clean(l));
  }

  /** Emits whatever is left of an unterminated last line. */
  flush(): void {
    const rest = this.#partial + this.#dec.decode();
    this.#partial = "";
    if (rest.length) this.#emit(clean(rest));
  }
}

function clean(line: string): string {
  return line.replace(ESCAPES, "").replaceAll("\r", "");
}
