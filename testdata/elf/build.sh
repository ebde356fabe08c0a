#!/bin/sh
# Rebuilds the ELF test objects (needs clang 14+ with the BPF, x86, ARM and
# PowerPC targets). The objects are committed so the tests need no compiler;
# tests/elf_test.ts compares against llvm-readelf only when it is installed.
set -eu
cd "$(dirname "$0")"
# Keep the objects independent of the checkout path and compiler version.
COMMON="-fno-ident -fdebug-prefix-map=$(pwd)=."
# BPF objects, little- and big-endian (64-bit, SHT_REL relocations).
clang -target bpfel -O2 -g -Wall -Werror $COMMON -c prog.c -o prog_bpfel.o
clang -target bpfeb -O2 -g -Wall -Werror $COMMON -c prog.c -o prog_bpfeb.o
# Non-BPF objects for the other code paths:
#   x86_64: ELF64 LE with SHT_RELA;  i386: ELF32 LE with SHT_REL;
#   armeb: ELF32 BE with SHT_REL;    powerpc: ELF32 BE with SHT_RELA.
clang -target x86_64-linux-gnu -O2 -ffreestanding $COMMON -c small.c -o small_x86_64.o
clang -target i386-linux-gnu -O2 -ffreestanding $COMMON -c small.c -o small_i386.o
clang -target armeb-linux-gnueabi -O2 -ffreestanding $COMMON -c small.c -o small_armeb.o
clang -target powerpc-linux-gnu -O2 -ffreestanding $COMMON -c small.c -o small_ppc32.o
