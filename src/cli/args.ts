/**
 * A small argument parser for the denobpf CLI: positional words, `--flag`,
 * `--key value` and `--key=value`.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";

/** Parsed command-line arguments. */
export interface ParsedArgs {
  /** Positional words in order. */
  positional: string[];
  /** Options by name (without the dashes); flags without a value are `true`. */
  options: Map<string, string | true>;
}

/**
 * Parses `args`. Names in `valued` take a value (`--root DIR`); other
 * options are boolean flags.
 */
export function parseArgs(args: readonly string[], valued: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "--") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (eq >= 0) options.set(name, a.slice(eq + 1));
    else if (valued.includes(name)) {
      if (i + 1 >= args.length) throw new InvalidArgumentError(`--${name} needs a value`);
      options.set(name, args[++i]);
    } else options.set(name, true);
  }
  return { positional, options };
}

/** The string value of option `name`, or `undefined`. */
export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  const v = parsed.options.get(name);
  if (v === true) throw new InvalidArgumentError(`--${name} needs a value`);
  return v;
}
