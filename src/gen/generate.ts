/**
 * {@linkcode generateBindings}: a TypeScript module for one BPF object —
 * its programs, maps, global variables and record types typed from the
 * object's BTF — what `denobpf gen ts` writes.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { Spec } from "../btf/spec.ts";
import type { BtfType } from "../btf/types.ts";
import { loadCollectionSpec } from "../collection/reader.ts";
import type { CollectionMapSpec, CollectionSpec } from "../collection/types.ts";
import { mapTypeName, mapTypeNumber } from "../map/types.ts";
import { pathOf, readFile } from "../sys/file.ts";
import { MAX_ELF_FILE_BYTES } from "../elf/elf_file.ts";
import { docText, pascalCase, propertyKey, type Rendered, TypeRenderer } from "./_types.ts";

/** Options of {@linkcode generateBindings}. */
export interface GenerateBindingsOptions {
  /**
   * The name the module's types are prefixed with (`counter` →
   * `CounterObjects`, `CounterMaps` …). Default: the object's file name
   * without `.o` and a `_bpfel`/`_bpfeb` suffix (`"object"` for bytes).
   */
  name?: string;
  /**
   * How the module finds the object: `"embed"` (default) carries it as
   * base64, so the module is all a user imports (it exports
   * `objectBytes()`); `"path"` reads it at load time from
   * {@linkcode GenerateBindingsOptions.objectPath} (it exports `objectUrl`).
   */
  object?: "embed" | "path";
  /**
   * With `object: "path"`: the object's path relative to the generated
   * module (read through `new URL(path, import.meta.url)`), or absolute.
   * Default: the source path as given.
   */
  objectPath?: string;
  /**
   * The BTF names of the struct or union types programs send as records
   * (ring buffer, perf samples): each gets an interface, a codec and a
   * `decode…` function. Default: every named struct or union of the
   * object's BTF (map keys and values included, as a record is often built
   * in a map first) but the map definitions and the kernel's types: what
   * the programs' context arguments, CO-RE accesses, externs and
   * struct_ops variables reach. A type only a local variable uses is not
   * in BTF: keep it there with a global such as `struct event
   * *unused_event;` (as libbpf-tools do).
   */
  records?: readonly string[];
  /** The package the module imports (default `"@denobpf/ebpf"`): `<pkg>/collection` and `<pkg>/map`. */
  packageName?: string;
}

/** Maps that get no typed view: their elements are not data of the object's types. */
const UNTYPED_MAPS = new Set([
  "prog_array",
  "perf_event_array",
  "ringbuf",
  "user_ringbuf",
  "array_of_maps",
  "hash_of_maps",
  "struct_ops",
  "cgroup_array",
  "devmap",
  "devmap_hash",
  "cpumap",
  "xskmap",
  "sockmap",
  "sockhash",
  "reuseport_sockarray",
  "arena",
]);

/** A default for {@linkcode GenerateBindingsOptions.name} from a file name. */
function baseName(source: string | URL | Uint8Array): string {
  if (source instanceof Uint8Array) return "object";
  return pathOf(source).replace(/^.*\//, "").replace(/\.o$/, "").replace(/_bpfe[lb]$/, "");
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Sections whose variables' types, and all they reach, are the kernel's: externs, struct_ops. */
const KERNEL_SECTIONS = new Set([".ksyms", ".kconfig", ".struct_ops", ".struct_ops.link"]);

/**
 * The struct types that define maps: the types of `.maps` and `maps`
 * variables, and the inner maps' definitions (`__array(values, struct
 * inner)`) — not the key and value types they point at.
 */
function mapDefinitions(btf: Spec): Set<number> {
  const defs = new Set<number>();
  const mark = (id: number, depth: number) => {
    const t = btf.resolve(id);
    if (t.kind !== "struct" || defs.has(t.id) || depth > 8) return;
    defs.add(t.id);
    for (const m of t.members) {
      if (m.name !== "values") continue;
      const arr = btf.resolve(m.type);
      const ptr = arr.kind === "array" ? btf.resolve(arr.type) : arr;
      if (ptr.kind === "ptr") mark(ptr.type, depth + 1);
    }
  };
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    if (t.kind !== "datasec" || (t.name !== ".maps" && t.name !== "maps")) continue;
    for (const v of t.vars) {
      const vt = btf.typeById(v.type);
      mark(vt.kind === "var" ? vt.type : v.type, 0);
    }
  }
  return defs;
}

/**
 * The default records: every named struct and union of the object's BTF
 * but the map definitions and the kernel's types — what the programs'
 * context arguments, CO-RE accesses, externs and struct_ops variables
 * reach.
 */
function defaultRecords(btf: Spec, spec: CollectionSpec): BtfType[] {
  const reached = mapDefinitions(btf);
  const visit = (id: number) => {
    const stack = [id];
    while (stack.length) {
      const cur = stack.pop()!;
      if (reached.has(cur)) continue;
      reached.add(cur);
      const t = btf.typeById(cur);
      if ("type" in t) stack.push(t.type);
      if ("members" in t) { for (const m of t.members) stack.push(m.type); }
      if (t.kind === "func_proto") stack.push(t.returnType, ...t.params.map((p) => p.type));
      if (t.kind === "datasec") { for (const v of t.vars) stack.push(v.type); }
    }
  };
  const programs = new Set(Object.keys(spec.programs));
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    if (t.kind === "datasec" && KERNEL_SECTIONS.has(t.name)) visit(id);
    else if (t.kind === "func" && (programs.has(t.name) || t.linkage === "extern")) visit(id);
  }
  // Kernel types the programs read with CO-RE.
  for (const p of Object.values(spec.programs)) for (const c of p.coreRelos) visit(c.typeId);
  const out: BtfType[] = [];
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    if ((t.kind === "struct" || t.kind === "union") && t.name !== "" && !reached.has(id)) {
      out.push(t);
    }
  }
  return out;
}

/** The struct or union a record name stands for (through typedefs). */
function recordType(btf: Spec, name: string): { id: number; name: string } {
  for (const t of btf.typesByName(name)) {
    if (t.kind === "struct" || t.kind === "union") return { id: t.id, name };
    if (t.kind === "typedef") {
      const r = btf.resolve(t.id);
      if (r.kind === "struct" || r.kind === "union") return { id: r.id, name: r.name || name };
    }
  }
  const names: string[] = [];
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    if ((t.kind === "struct" || t.kind === "union") && t.name) names.push(t.name);
  }
  throw new NotFoundError(
    `record type ${name}`,
    `the object's BTF has no struct or union ${JSON.stringify(name)} (it has: ${
      names.join(", ") || "none"
    }); if the source defines it, keep it in BTF with a global such as ` +
      `\`struct ${name} *unused_${name};\``,
  );
}

interface MapBinding {
  name: string;
  spec: CollectionMapSpec;
  key?: Rendered;
  value?: Rendered;
}

function typedMap(r: TypeRenderer | undefined, m: CollectionMapSpec): MapBinding {
  const out: MapBinding = { name: m.name, spec: m };
  const type = mapTypeName(mapTypeNumber(m.type));
  if (!r || m.origin === "data" || m.origin === "kconfig" || UNTYPED_MAPS.has(type)) return out;
  const valueId = m.btf?.valueTypeId ?? 0;
  if (valueId === 0) return out;
  const value = r.render(valueId);
  const keyId = m.btf?.keyTypeId ?? 0;
  const key: Rendered = keyId !== 0
    ? r.render(keyId)
    : m.keySize === 0
    ? { ts: "undefined", codec: "map.empty", c: "void", size: 0 }
    : { ts: "Uint8Array", codec: `map.bytes(${m.keySize})`, c: "bytes", size: m.keySize };
  if (key.size !== m.keySize || value.size !== m.valueSize) return out;
  return { ...out, key, value };
}

/**
 * A TypeScript module for the BPF object `source` (a path, a file URL or
 * the object's bytes): `load(options)` returns its programs and maps as
 * typed properties — maps with key and value types as typed views — and
 * its global variables typed; `loadSpec()` gives the spec (with typed
 * variables) to adapt first; each record type gets an interface and a
 * decoder. The module imports `@denobpf/ebpf/collection` and
 * `@denobpf/ebpf/map` by name.
 *
 * @example
 * ```ts ignore
 * const code = generateBindings("counter_bpfel.o", { name: "counter" });
 * Deno.writeTextFileSync("counter_bpf.ts", code);
 * ```
 *
 * @throws {ParseError} when the object cannot be read.
 * @throws {NotFoundError} when a record type in `options.records` is not in the object's BTF.
 */
export function generateBindings(
  source: string | URL | Uint8Array,
  options: GenerateBindingsOptions = {},
): string {
  const bytes = source instanceof Uint8Array
    ? source
    : readFile(pathOf(source), { maxBytes: MAX_ELF_FILE_BYTES, what: "BPF object" });
  const fileName = source instanceof Uint8Array ? "object" : pathOf(source).replace(/^.*\//, "");
  const name = options.name ?? baseName(source);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new InvalidArgumentError(
      `name ${
        JSON.stringify(name)
      }: give a C-like identifier (letters, digits, _), e.g. --name counter`,
    );
  }
  const mode = options.object ?? "embed";
  if (mode !== "embed" && mode !== "path") {
    throw new InvalidArgumentError(`object must be "embed" or "path", got ${String(mode)}`);
  }
  if (mode === "path" && options.objectPath === undefined && source instanceof Uint8Array) {
    throw new InvalidArgumentError(`object "path" needs objectPath when the source is bytes`);
  }
  const pkg = options.packageName ?? "@denobpf/ebpf";
  const spec = loadCollectionSpec(bytes, { name: fileName });
  const btf = spec.types;
  const P = pascalCase(name);
  const names = {
    objects: `${P}Objects`,
    maps: `${P}Maps`,
    programs: `${P}Programs`,
    variables: `${P}Variables`,
    spec: `${P}Spec`,
    options: `${P}LoadOptions`,
  };
  const reserved = [
    ...Object.values(names),
    "collection",
    "map",
    "load",
    "loadSpec",
    "objectBytes",
    "objectUrl",
    "OBJECT",
    "CODECS",
  ];
  const r = btf ? new TypeRenderer(btf, reserved) : undefined;

  // Records first, so that their names are the plain ones.
  const records: string[] = [];
  if (r && btf) {
    const chosen = options.records
      ? options.records.map((n) => recordType(btf, n))
      : defaultRecords(btf, spec).map((t) => ({ id: t.id, name: t.name }));
    for (const t of chosen) records.push(`${t.name} → ${r.declareDecoder(t.id, t.name)}`);
  }

  const maps = Object.values(spec.maps).map((m) => typedMap(r, m));
  const variables = Object.entries(spec.variables).map(([vname, v]) => {
    let rendered: Rendered = {
      ts: "Uint8Array",
      codec: `map.bytes(${v.size})`,
      c: "bytes",
      size: v.size,
    };
    if (r && btf && v.typeId !== undefined) {
      const varType = btf.typeById(v.typeId);
      const typed = r.render(varType.kind === "var" ? varType.type : v.typeId);
      if (typed.size === v.size) rendered = typed;
    }
    return { name: vname, mapName: v.mapName, constant: v.constant, r: rendered };
  });

  const out: string[] = [];
  out.push(
    `// Code generated by \`denobpf gen ts\` from ${docText(fileName)}. DO NOT EDIT.`,
    `// deno-fmt-ignore-file`,
    `/**`,
    ` * Typed bindings for the BPF object \`${docText(fileName)}\`: \`load()\` loads it and`,
    ` * returns its programs, maps and global variables by name, typed from the`,
    ` * object's BTF; \`loadSpec()\` gives the spec to adapt first (set \`.rodata\``,
    ` * constants on its \`variables\`, change map sizes) and \`load({ spec })\` loads it.`,
    ` *`,
    ` * Record types (decoders for ring buffer and perf records): ${
      records.length ? records.join(", ") : "none"
    }.`,
    ` *`,
    ` * @module`,
    ` */`,
    ``,
    `import * as collection from "${pkg}/collection";`,
    `import * as map from "${pkg}/map";`,
    ``,
  );
  if (r) out.push(...r.declarations);

  // Maps.
  out.push(`/** The maps of \`${docText(fileName)}\` by name. */`);
  out.push(`export interface ${names.maps} {`);
  for (const m of maps) {
    const type = mapTypeName(mapTypeNumber(m.spec.type));
    const what = m.key && m.value
      ? `key \`${docText(m.key.c)}\`, value \`${docText(m.value.c)}\``
      : `${m.spec.keySize}-byte keys, ${m.spec.valueSize}-byte values`;
    out.push(
      `  /** \`${docText(m.name)}\`: ${type}, ${what}, max_entries ${m.spec.maxEntries}. */`,
    );
    out.push(
      `  readonly ${propertyKey(m.name)}: ${
        m.key && m.value ? `map.TypedMap<${m.key.ts}, ${m.value.ts}, map.BpfMap>` : "map.BpfMap"
      };`,
    );
  }
  out.push(`}`, ``);

  // Programs.
  out.push(
    `/** The programs of \`${
      docText(fileName)
    }\` by name (those loaded: \`autoload\` left true). */`,
  );
  out.push(`export interface ${names.programs} {`);
  for (const p of Object.values(spec.programs)) {
    out.push(`  /** \`${docText(p.name)}\`, section \`${docText(p.sectionName)}\`. */`);
    out.push(`  readonly ${propertyKey(p.name)}: collection.Program;`);
  }
  out.push(`}`, ``);

  // Variables: the same names and types before and after load.
  out.push(
    `/**`,
    ` * The global variables: on the spec before load (set \`.rodata\` constants there),`,
    ` * and in the loaded object (\`.rodata\` ones read-only there).`,
    ` */`,
    `export interface ${names.variables} {`,
  );
  for (const v of variables) {
    out.push(
      `  /** \`${docText(v.r.c)} ${docText(v.name)}\` in \`${docText(v.mapName)}\`${
        v.constant ? " (read-only once loaded)" : ""
      }. */`,
      `  readonly ${propertyKey(v.name)}: collection.TypedVariable<${v.r.ts}>;`,
    );
  }
  out.push(`}`, ``);

  // The codecs the loader binds.
  // `satisfies`: the type checker holds each codec against the type the interfaces above give.
  const checked = (r: Rendered) => `${r.codec} satisfies map.Codec<${r.ts}>`;
  const mapCodecs = maps.filter((m) => m.key && m.value).map((m) =>
    `    ${propertyKey(m.name)}: { key: ${checked(m.key!)}, value: ${checked(m.value!)} },`
  );
  const varCodecs = variables.map((v) => `    ${propertyKey(v.name)}: ${checked(v.r)},`);
  out.push(
    `const CODECS: collection.BindingCodecs = {`,
    `  maps: {`,
    ...mapCodecs,
    `  } as collection.BindingCodecs["maps"],`,
    `  variables: {`,
    ...varCodecs,
    `  } as collection.BindingCodecs["variables"],`,
    `};`,
    ``,
  );

  // The object.
  if (mode === "embed") {
    const b64 = base64(bytes);
    const lines: string[] = [];
    for (let i = 0; i < b64.length; i += 96) lines.push(`  "${b64.slice(i, i + 96)}",`);
    out.push(
      `/** \`${docText(fileName)}\` (${bytes.length} bytes), base64. */`,
      `const OBJECT = [`,
      ...lines,
      `].join("");`,
      ``,
      `/** The object file's bytes. */`,
      `export function objectBytes(): Uint8Array {`,
      `  const bin = atob(OBJECT);`,
      `  const bytes = new Uint8Array(bin.length);`,
      `  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);`,
      `  return bytes;`,
      `}`,
      ``,
    );
  } else {
    const p = options.objectPath ?? pathOf(source as string | URL);
    out.push(
      `/** Where the object file is read from by {@linkcode loadSpec} (with --allow-ffi alone, too). */`,
      `export const objectUrl: URL = new URL(${JSON.stringify(p)}, import.meta.url);`,
      ``,
    );
  }

  out.push(
    `/** The spec of \`${
      docText(fileName)
    }\` with its variables typed: adapt it, then \`load({ spec })\`. */`,
    `export type ${names.spec} = collection.BoundSpec<${names.variables}>;`,
    ``,
    `/** Reads the object into a spec (no kernel calls). */`,
    `export function loadSpec(): ${names.spec} {`,
    `  const spec = collection.loadCollectionSpec(${
      mode === "embed" ? "objectBytes()" : "objectUrl"
    }, { name: ${JSON.stringify(fileName)} });`,
    `  return collection.bindSpec<${names.variables}>(spec, CODECS);`,
    `}`,
    ``,
    `/** Options of {@linkcode load}: the collection loader's, and a spec from {@linkcode loadSpec}. */`,
    `export interface ${names.options} extends collection.CollectionOptions {`,
    `  /** The spec to load (default: a fresh {@linkcode loadSpec}()). */`,
    `  spec?: ${names.spec};`,
    `}`,
    ``,
    `/** The loaded object: programs, typed maps and variables. Close it (or \`using\`) to release them. */`,
    `export type ${names.objects} = collection.BoundCollection<${names.programs}, ${names.maps}, ${names.variables}>;`,
    ``,
    `/**`,
    ` * Loads the object into the kernel (maps created, programs verified).`,
    ` *`,
    ` * @example`,
    ` * \`\`\`ts ignore`,
    ` * using objs = await load();`,
    ` * \`\`\``,
    ` */`,
    `export async function load(options: ${names.options} = {}): Promise<${names.objects}> {`,
    `  const { spec, ...rest } = options;`,
    `  const coll = await collection.loadCollection((spec ?? loadSpec()).collection, rest);`,
    `  return collection.bindCollection<${names.programs}, ${names.maps}, ${names.variables}>(coll, CODECS);`,
    `}`,
  );
  return out.join("\n") + "\n";
}
