#!/bin/sh
# Rebuilds the VM scenario's BPF object from its C source (clang 14+,
# libbpf-dev for <bpf/bpf_helpers.h>). Little endian only: the guest is
# x86-64. The object is committed so that the tests need no compiler.
#
#   sh testdata/vm/build.sh
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
# <linux/types.h> needs <asm/types.h>: take the host's multiarch copy.
ASM_INC=$(for d in /usr/include/$(uname -m)-linux-gnu /usr/include/x86_64-linux-gnu /usr/include; do
  if [ -f "$d/asm/types.h" ]; then echo "$d"; break; fi
done)
# Keep the object independent of the checkout path and compiler build.
for src in *.c; do
  $CLANG -target bpfel -O2 -g -Wall -Werror -fno-ident -fdebug-prefix-map="$(pwd)=." \
    -I"$ASM_INC" -c "$src" -o "${src%.c}.bpf.o"
done
echo "built: $(ls ./*.bpf.o | tr '\n' ' ')"
