#!/bin/sh
# Rebuilds the BPF test objects from the C sources in this directory, in
# both byte orders (clang 14+, libbpf-dev for <bpf/bpf_helpers.h>). The
# objects are committed so that the tests need no compiler.
#
#   deno task build:testdata     (or: sh testdata/bpf/build.sh)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
# <linux/types.h> needs <asm/types.h>: take the host's multiarch copy.
ASM_INC=$(for d in /usr/include/$(uname -m)-linux-gnu /usr/include/x86_64-linux-gnu /usr/include; do
  if [ -f "$d/asm/types.h" ]; then echo "$d"; break; fi
done)
# Keep the objects independent of the checkout path and compiler build.
COMMON="-O2 -g -Wall -Werror -fno-ident -fdebug-prefix-map=$(pwd)=. -I$ASM_INC"
total=$(ls ./*.c | wc -l)
i=0
for src in *.c; do
  name=${src%.c}
  i=$((i + 1))
  echo "[$i/$total] $src → ${name}_bpfel.o ${name}_bpfeb.o"
  for arch in bpfel bpfeb; do
    $CLANG -target $arch $COMMON -c "$src" -o "${name}_${arch}.o"
  done
done
echo "built: $(ls ./*_bpfel.o ./*_bpfeb.o | wc -l) objects"
