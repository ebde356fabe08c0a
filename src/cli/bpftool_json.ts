/**
 * The JSON writer of bpftool's `-j`/`-p` output, byte for byte: bpftool's
 * json_writer puts a newline and indentation before each object member
 * (pretty mode) but none between array elements, leaves `'` as it is and,
 * as bpftool 7.1's jsonw_puts does, writes a backslash as `\n` (so
 * `'\0'` in a source line comes out as `'\n0'`).
 *
 * @module
 */

/** Writes JSON the way bpftool's json_writer does; {@linkcode JsonWriter.text} is the result. */
export class JsonWriter {
  #out: string[] = [];
  #depth = 0;
  #sep = "";
  /** Whether to indent (bpftool's `-p`). */
  readonly pretty: boolean;

  /** A writer; `pretty` is bpftool's `-p`. */
  constructor(pretty = false) {
    this.pretty = pretty;
  }

  /** What was written, with the newline bpftool ends its JSON with. */
  text(): string {
    return this.#out.join("") + "\n";
  }

  #eol(): void {
    if (!this.pretty) return;
    this.#out.push("\n" + "    ".repeat(this.#depth));
  }

  #eor(): void {
    if (this.#sep) this.#out.push(this.#sep);
    this.#sep = ",";
  }

  #begin(c: string): void {
    this.#eor();
    this.#out.push(c);
    this.#depth++;
    this.#sep = "";
  }

  #end(c: string): void {
    this.#depth--;
    if (this.#sep) this.#eol();
    this.#out.push(c);
    this.#sep = ",";
  }

  /** `{` */
  startObject(): void {
    this.#begin("{");
  }

  /** `}` */
  endObject(): void {
    this.#end("}");
  }

  /** `[` */
  startArray(): void {
    this.#begin("[");
  }

  /** `]` */
  endArray(): void {
    this.#end("]");
  }

  /** A member name (then write its value). */
  name(name: string): void {
    this.#eor();
    this.#eol();
    this.#sep = "";
    this.#out.push(quote(name) + (this.pretty ? ": " : ":"));
  }

  /** A raw value (a number, `true`, …). */
  raw(text: string): void {
    this.#eor();
    this.#out.push(text);
  }

  /** A string value. */
  string(value: string): void {
    this.raw(quote(value));
  }

  /** A number value. */
  number(value: number | bigint): void {
    this.raw(String(value));
  }

  /** A boolean value. */
  bool(value: boolean): void {
    this.raw(value ? "true" : "false");
  }

  /** `"name": "value"` */
  stringField(name: string, value: string): void {
    this.name(name);
    this.string(value);
  }

  /** `"name": value` */
  numberField(name: string, value: number | bigint): void {
    this.name(name);
    this.number(value);
  }

  /** `"name": true|false` */
  boolField(name: string, value: boolean): void {
    this.name(name);
    this.bool(value);
  }
}

const ESCAPES: Record<string, string> = {
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
  "\f": "\\f",
  "\b": "\\b",
  "\\": "\\n", // sic: bpftool 7.1's json_writer
  '"': '\\"',
};

function quote(s: string): string {
  return '"' + s.replace(/[\t\n\r\f\b\\"]/g, (c) => ESCAPES[c]) + '"';
}
