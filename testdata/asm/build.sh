#!/bin/sh
# Rebuilds the assembler test data: BPF objects compiled by clang 14 and
# assembled by llvm-mc 14, and what llvm-objdump 14 prints for them. The
# tests compare src/asm's disassembler with these files line by line.
#
#   X.o            the object
#   X.d.txt        llvm-objdump -d X.o
#   X.alu32.txt    llvm-objdump -d --mattr=+alu32 X.o
#   X.noraw.txt    llvm-objdump -d --no-show-raw-insn X.o
#   X.z.txt        llvm-objdump -d -z X.o (zero runs disassembled)
#
# Needs clang, llvm-mc, llvm-objdump (Debian's llvm 14) and deno.
set -eu
cd "$(dirname "$0")"
CFLAGS="-O2 -Wall -Wno-unused-function"

dump() {
  llvm-objdump -d "$1.o" > "$1.d.txt"
  llvm-objdump -d --mattr=+alu32 "$1.o" > "$1.alu32.txt"
  llvm-objdump -d --no-show-raw-insn "$1.o" > "$1.noraw.txt"
}

clang -target bpf $CFLAGS -mcpu=v1 -c mix.c -o mix_v1.o
clang -target bpf $CFLAGS -mcpu=v2 -c mix.c -o mix_v2.o
clang -target bpf $CFLAGS -mcpu=v3 -DCPU_V3 -c mix.c -o mix_v3.o
clang -target bpfeb $CFLAGS -mcpu=v3 -DCPU_V3 -c mix.c -o mix_v3_eb.o
clang -target bpf $CFLAGS -mcpu=v1 -c legacy.c -o legacy_v1.o
for x in mix_v1 mix_v2 mix_v3 mix_v3_eb legacy_v1; do dump $x; done

deno run --allow-write=. gen_corpus.ts
llvm-mc -triple bpfel -filetype=obj opcodes.s -o opcodes.o
llvm-objdump -d -z opcodes.o > opcodes.z.txt
llvm-objdump -d -z --mattr=+alu32 opcodes.o > opcodes.alu32z.txt
for s in random*_el.s; do
  b=${s%.s}
  llvm-mc -triple bpfel -filetype=obj "$s" -o "$b.o"
  dump "$b"
done
for s in random*_eb.s; do
  b=${s%.s}
  llvm-mc -triple bpfeb -filetype=obj "$s" -o "$b.o"
  dump "$b"
done
rm -f opcodes.s random*.s
