// The C++ demangler against the GNU one: abi::__cxa_demangle (what BCC, and
// so bpftrace, calls; a small C++ program built here reads names on stdin)
// and c++filt (binutils; it spells the std:: abbreviations out, our
// `verbose`). Real names: every _Z symbol exported by libstdc++ and by
// bpftrace's binary. Generated names (fast-check): functions, nested and
// local names, templates with type and literal arguments and packs, template
// parameters, std:: abbreviations, operators, conversion operators,
// constructors and destructors, ABI tags, lambdas, pointers to members,
// function and array types, vtables/typeinfo, clone suffixes. Mutated names:
// never a throw, and where both demanglers read one they agree (but for the
// kinds of broken mangling GNU prints its own way, excluded by rule).

import assert from "node:assert/strict";
import fc from "fast-check";
import { demangle } from "../src/probe/demangle.ts";
import { pureRuns } from "./_helpers.ts";

const ORACLE_SOURCE = `
#include <cxxabi.h>
#include <cstdlib>
#include <iostream>
#include <string>
int main() {
  std::string l;
  while (std::getline(std::cin, l)) {
    int status;
    char *d = abi::__cxa_demangle(l.c_str(), nullptr, nullptr, &status);
    std::cout << (d ? d : l) << "\\n";
    std::free(d);
  }
}
`;

let oracleBin: string | undefined;

/** abi::__cxa_demangle of each name (the name itself where it fails), built once with g++. */
async function cxaDemangle(names: string[]): Promise<string[]> {
  if (!oracleBin) {
    const dir = await Deno.makeTempDir({ prefix: "denobpf_demangle_" });
    await Deno.writeTextFile(`${dir}/dm.cc`, ORACLE_SOURCE);
    const r = await new Deno.Command("g++", {
      args: ["-O1", "-o", `${dir}/dm`, `${dir}/dm.cc`],
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new Error(
        `g++ (tools/setup.ts installs it) could not build the oracle: ${
          new TextDecoder().decode(r.stderr)
        }`,
      );
    }
    oracleBin = `${dir}/dm`;
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  return await lines(oracleBin, [], names);
}

async function lines(cmd: string, args: string[], names: string[]): Promise<string[]> {
  const p = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped" }).spawn();
  const output = p.output(); // read while writing: the pipes are smaller than the text
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(names.join("\n") + "\n"));
  await w.close();
  const out = new TextDecoder().decode((await output).stdout).split("\n");
  return out.slice(0, names.length);
}

/** The _Z names an object exports (without symbol versions). */
async function exported(path: string): Promise<string[]> {
  const r = await new Deno.Command("nm", { args: ["-D", "--defined-only", path], stdout: "piped" })
    .output();
  assert.ok(r.success, `nm -D ${path}`);
  const names = new TextDecoder().decode(r.stdout).split("\n").map((l) => l.split(" ")[2] ?? "")
    .map((n) => n.replace(/@.*/, "")).filter((n) => n.startsWith("_Z"));
  return [...new Set(names)];
}

/** Mangled names of the shapes real C++ programs have (see the header). */
const mangledName = (() => {
  const ids = fc.constantFrom("foo", "Bar", "vector", "x", "a_b", "_M_impl", "Z9", "operator");
  const source = ids.map((s) => `${s.length}${s}`);
  const builtin = fc.constantFrom(..."wbcahstijlmxyfdeno".split(""), "Dn", "Di", "Ds");
  const lit = fc.tuple(
    fc.constantFrom("i", "j", "l", "m", "x", "y", "b", "c", "s"),
    fc.boolean(),
    fc.nat(300),
  )
    .map(([t, neg, v]) => t === "b" ? `Lb${v % 2}E` : `L${t}${neg ? "n" : ""}${v}E`);
  const sub = fc.constantFrom("Sa", "Ss", "Si", "So", "Sd");
  const op = fc.constantFrom("pl", "ix", "cl", "aS", "lt", "ls", "nw", "dl", "eq", "cvi", "cvPKc");
  const { type } = fc.letrec<
    { type: string; cls: string; targs: string; params: string; fn: string }
  >((tie) => ({
    type: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      builtin,
      tie("cls"),
      fc.tuple(
        fc.constantFrom("P", "R", "O", "K", "PK", "RK", "KP", "PPK"),
        fc.oneof(builtin, tie("cls")),
      ).map(([m, t]) => m + t),
      fc.tuple(fc.constantFrom("P", "R", "KP", "PP"), tie("fn")).map(([m, f]) => m + f),
      fc.tuple(fc.constantFrom("P", "R", "RK"), fc.nat(20), fc.oneof(builtin, tie("cls"))).map((
        [m, n, t],
      ) => `${m}A${n}_${t}`),
      fc.tuple(source, fc.oneof(builtin, tie("cls"))).map(([c, t]) => `M${c}${t}`),
      fc.tuple(source, fc.constantFrom("", "K"), tie("fn")).map(([c, k, f]) => `M${c}${k}${f}`),
    ),
    fn: fc.tuple(
      fc.oneof(
        fc.constant("v"),
        builtin,
        tie("cls"),
        fc.tuple(fc.constantFrom("P", "R", "PK", "RK"), fc.oneof(builtin, tie("cls"))).map((
          [m, t],
        ) => m + t),
      ),
      tie("params"),
    )
      .map(([r, p]) => `F${r}${p}E`),
    cls: fc.oneof(
      source,
      fc.tuple(source, tie("targs")).map(([s, a]) => s + a),
      fc.tuple(
        fc.option(fc.oneof(sub, fc.constant("St"))),
        fc.array(source, { maxLength: 2 }),
        source,
        fc.option(tie("targs")),
      )
        .map(([f, ps, s, a]) => `N${f ?? ""}${ps.join("")}${s}${a ?? ""}E`),
      sub,
      fc.tuple(fc.constant("Sa"), tie("targs")).map(([s, a]) => s + a),
      fc.tuple(fc.constant("St"), source, fc.option(tie("targs"))).map(([s, n, a]) =>
        s + n + (a ?? "")
      ),
    ),
    targs: fc.array(
      fc.oneof(
        tie("type"),
        tie("fn"),
        lit,
        fc.array(tie("type"), { minLength: 1, maxLength: 2 }).map((a) => `J${a.join("")}E`),
      ),
      { minLength: 1, maxLength: 3 },
    )
      .map((a) => `I${a.join("")}E`),
    params: fc.oneof(
      fc.constant("v"),
      fc.array(tie("type"), { minLength: 1, maxLength: 3 }).map((a) => a.join("")),
      fc.array(tie("type"), { minLength: 1, maxLength: 2 }).map((a) => a.join("") + "z"),
    ),
  }));
  const targs = fc.array(fc.oneof(type, lit), { minLength: 1, maxLength: 2 }).map((a) =>
    `I${a.join("")}E`
  );
  const typeArgs = fc.array(type, { minLength: 1, maxLength: 2 }).map((a) => `I${a.join("")}E`);
  const unq = fc.oneof(
    source,
    fc.tuple(source, fc.constantFrom("B5cxx11", "B3abi")).map(([s, t]) => s + t),
    op,
  );
  const nested = fc.tuple(
    fc.constantFrom("", "K", "V", "KV", "R", "KO"),
    fc.array(fc.oneof(source, fc.tuple(source, targs).map(([s, a]) => s + a)), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.oneof(
      fc.tuple(unq, fc.option(typeArgs)).map(([u, a]) => u + (u.startsWith("cv") ? "" : a ?? "")),
      fc.constantFrom("C1", "C2", "D0", "D1", "D2"),
    ),
  ).map(([q, ps, last]) => ({
    name: `N${q}${ps.join("")}${last}E`,
    template: /E$/.test(last) && !/^(C|D|cv)/.test(last),
    q,
  }));
  const plain = fc.tuple(
    fc.oneof(unq, fc.tuple(fc.constant("St"), source).map(([a, b]) => a + b)),
    fc.option(typeArgs),
  )
    .map(([n, a]) => ({
      name: n + (n.startsWith("cv") ? "" : a ?? ""),
      template: a !== null && !n.startsWith("cv"),
      q: "",
    }));
  const tparam = fc.constantFrom("T_", "T0_");
  const typeT = fc.oneof(
    type,
    type,
    tparam,
    fc.tuple(fc.constantFrom("P", "RK", "O", "K", "PK"), tparam).map(([m, t]) => m + t),
  );
  const fnOf = (name: fc.Arbitrary<{ name: string; template: boolean }>) =>
    fc.tuple(
      name,
      fc.oneof(fc.constant("v"), typeT),
      fc.oneof(
        fc.constant("v"),
        fc.array(typeT, { minLength: 1, maxLength: 4 }).map((a) => a.join("")),
      ),
    )
      .map(([n, r, p]) => n.name + (n.template ? r : "") + p);
  const fnName = fc.oneof(nested, plain);
  const local = fc.tuple(
    fnOf(fnName),
    fc.constantFrom("1x", "s", "UlvE_", "UliE0_", "Ut_", "1x_0", "N1AD1E", "N3BarC2E"),
  )
    .map(([f, e]) => ({ name: `Z${f}E${e}`, template: false, q: "" }));
  const fn = fnOf(fc.oneof(nested, plain, local));
  const special = fc.tuple(
    fc.constantFrom("TV", "TI", "TS", "TT"),
    fc.oneof(source, fc.tuple(source, targs).map(([a, b]) => a + b)),
  )
    .map(([s, t]) => s + t);
  const data = fc.oneof(plain, nested.filter((n) => n.q === "" && !/(C\d|D\d|cv.*)E$/.test(n.name)))
    .map((n) => n.name);
  const clone = fc.constantFrom(
    "",
    "",
    ".constprop.0",
    ".isra.0",
    ".cold",
    ".part.1",
    ".constprop.0.isra.0",
  );
  return fc.oneof(
    fc.tuple(fn, clone).map(([e, c]) => `_Z${e}${c}`),
    fn.map((e) => `_Z${e}`),
    special.map((e) => `_Z${e}`),
    data.map((e) => `_Z${e}`),
  );
})();

Deno.test("demangle: every _Z name libstdc++ and bpftrace export reads as abi::__cxa_demangle writes it", async () => {
  const lib = new TextDecoder().decode(
    (await new Deno.Command("g++", { args: ["-print-file-name=libstdc++.so.6"], stdout: "piped" })
      .output()).stdout,
  ).trim();
  const names = [...new Set([...await exported(lib), ...await exported("/usr/bin/bpftrace")])];
  assert.ok(names.length > 5000, `${names.length} names`);
  const want = await cxaDemangle(names);
  const wrong = names.filter((n, i) => demangle(n) !== want[i]);
  assert.deepEqual(wrong.map((n) => [n, demangle(n), want[names.indexOf(n)]]).slice(0, 5), []);
});

Deno.test("demangle: fixed cases (std:: abbreviations, packs, lambdas, locals, operators, qualifiers, clones, specials)", async () => {
  const cases: [string, string][] = [
    ["_Z1fSs", "f(std::string)"],
    [
      "_ZNSsC1Ev",
      "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string()",
    ],
    ["_ZNKSs4sizeEv", "std::string::size() const"],
    ["_Z1fIJidEEvDpRKT_", "void f<int, double>(int const&, double const&)"],
    ["_Z1fIJEEvDpT_", "void f<>()"],
    ["_ZZ1fvENKUlvE_clEv", "f()::{lambda()#1}::operator()() const"],
    ["_ZN12_GLOBAL__N_13fooEv", "(anonymous namespace)::foo()"],
    ["_ZN1AltIiEEvv", "void A::operator< <int>()"],
    ["_Z1fPFPFivEvE", "f(int (*(*)())())"],
    ["_Z1fM1AKFvvE", "f(void (A::*)() const)"],
    ["_Z1fPA3_A4_i", "f(int (*) [3][4])"],
    ["_Z1frVKi", "f(int const volatile restrict)"],
    ["_Z3foov.constprop.0.isra.0", "foo() [clone .constprop.0] [clone .isra.0]"],
    ["_Z3foo.cold", "_Z3foo.cold"],
    ["_ZThn8_N1A1fEv", "non-virtual thunk to A::f()"],
    ["_ZGVZ1fvE1x", "guard variable for f()::x"],
    ["_ZTV1A", "vtable for A"],
    ["_Z1fILb1EEvv", "void f<true>()"],
    ["_Z1fILin3EEvv", "void f<-3>()"],
    ["main", "main"],
    ["_Zjunk", "_Zjunk"],
  ];
  const want = await cxaDemangle(cases.map(([n]) => n));
  for (const [i, [name, text]] of cases.entries()) {
    assert.equal(want[i], text, `the oracle on ${name}`);
    assert.equal(demangle(name), text, name);
  }
  assert.equal(
    demangle("_ZNSsC1Ev", { verbose: true }),
    "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string()",
  );
  assert.equal(
    demangle("_ZNKSs4sizeEv", { verbose: true }),
    "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::size() const",
  );
});

Deno.test("demangle (fast-check): generated names read as abi::__cxa_demangle writes them, and with verbose as c++filt writes them", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(mangledName, { minLength: 40, maxLength: 40 }), async (names) => {
      const [cxa, filt] = await Promise.all([cxaDemangle(names), lines("c++filt", [], names)]);
      for (const [i, name] of names.entries()) {
        assert.equal(demangle(name), cxa[i], `${name} (abi::__cxa_demangle)`);
        // c++filt also reads what is not a mangled name (types): compare where it demangled.
        if (filt[i] !== name) {
          assert.equal(demangle(name, { verbose: true }), filt[i], `${name} (c++filt)`);
        }
      }
    }),
    // The demangler is pure code: the VM guest runs fewer batches (tests/_helpers.ts).
    { numRuns: pureRuns(25) },
  );
});

Deno.test("demangle (fast-check): mutated and random names never throw, stay bounded, and agree with abi::__cxa_demangle where both read them", async () => {
  const real = [
    "_ZN2ns3BoxIiE3getERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERSt6vectorIiSaIiEE",
    "_ZNSt6vectorISt4pairIiiESaIS1_EE12emplace_backIJRiS5_EEEvDpOT_",
    "_ZZNKSt8__detail15_BracketMatcherINSt7__cxx1112regex_traitsIcEELb0ELb1EE8_M_applyEcSt17integral_constantIbLb0EEENKUlvE_clEv",
    "_ZN4llvm2cl5applyINS0_3optINS_5Reloc5ModelELb0ENS0_6parserIS4_EEEEA17_cJNS0_4descENS0_11ValuesClassEEEEvPT_RKT0_DpRKT1_",
  ];
  const mutated = fc.tuple(
    fc.constantFrom(...real),
    fc.nat(),
    fc.string({ maxLength: 3, unit: fc.constantFrom(..."_ZNKESI0123456789abcdefiTJLXDpvAMFR") }),
    fc.nat(3),
  ).map(([n, at, ins, del]) => {
    const i = at % (n.length + 1);
    return n.slice(0, i) + ins + n.slice(i + del);
  });
  const anything = fc.oneof(
    mutated,
    fc.string({ maxLength: 60 }).map((s) => `_Z${s}`),
    fc.string(),
  );
  // GNU reads broken manglings leniently, and prints each kind its own way (a
  // qualifier kept twice or dropped, a reference collapsed or not, parentheses
  // where none belong). Where both read a name they agree, except on these
  // kinds, named by rule: by the mangling ...
  const lenient = [
    /K[Vr]*K|V[Kr]*V|r[KV]*r/, // a cv-qualifier twice
    /[RO][KVr]*[RO]/, // a reference to a reference
    /[RO][KVr]*S[0-9A-Z]*_/, // a reference to a substitution (maybe a reference)
    /[^ZE]N[KVrRO]/, // a cv- or ref-qualified nested name as a type
    /M[KVrROPFA]|MT[0-9A-Z]*_Dp/, // a member pointer of a non-class, or to a pack
    /F/, // a function type (GNU puts its qualifiers inside the parentheses)
    /Dp(?![KVrROP]*T)|[KVrROP]Dp/, // a pack expansion of no template parameter, or qualified
    /A_|J.*J/, // an array without a bound; a pack inside a pack
  ];
  // ... and by the text either prints, which no well-formed mangling gives
  // (doubled qualifiers or references, an array or function as a scope, a
  // qualified function or one with its qualifier before its parameters, an
  // empty argument, a function name in parentheses).
  const illFormed =
    /\b(const|volatile|restrict) \1\b|& &|&&&|\]\s*::|\)::|\(\s*(const|volatile)|, ,|, {2}|<,|, >|\(\s*\(|\(&\s*\(|[\w>] \(\w|\) (const|volatile)\(/;
  await fc.assert(
    fc.asyncProperty(fc.array(anything, { minLength: 50, maxLength: 50 }), async (names) => {
      const clean = names.map((n) => n.replace(/[\n\r\0]/g, ""));
      const cxa = await cxaDemangle(clean);
      for (const [i, name] of clean.entries()) {
        const d = demangle(name);
        assert.equal(typeof d, "string");
        assert.ok(d.length <= 1 << 16);
        if (!name.startsWith("_Z")) assert.equal(d, name);
        if (
          d !== name && cxa[i] !== name && !lenient.some((r) => r.test(name)) &&
          !illFormed.test(d) && !illFormed.test(cxa[i])
        ) assert.equal(d, cxa[i], `${name} (abi::__cxa_demangle)`);
      }
    }),
    { numRuns: pureRuns(40) },
  );
  // Deep nesting and huge repetition are refused, not a crash or a hang.
  assert.equal(demangle("_Z1f" + "P".repeat(100000) + "i"), "_Z1f" + "P".repeat(100000) + "i");
  const blowUp = "_Z1fI" + "S_".repeat(5000) + "E";
  assert.equal(typeof demangle(blowUp), "string");
  // A long argument list, and a substitution chain thousands deep (P of the previous type).
  assert.equal(typeof demangle("_Z1fIi" + "S_".repeat(8000) + "E"), "string");
  let chain = "_Z1fPiPS_";
  for (let i = 0; chain.length < 16000; i++) chain += `PS${i.toString(36).toUpperCase()}_`;
  assert.equal(typeof demangle(chain), "string");
});
