// Legacy packet loads (BPF_LD | BPF_ABS / BPF_IND) through clang's builtins.
// Built by build.sh with clang -target bpf -O2 for -mcpu=v1, v2 and v3.

#define SEC(name) __attribute__((section(name), used))

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int ld_abs_ind(void *skb) {
  unsigned long long proto = load_half(skb, 12);
  unsigned long long ihl = load_byte(skb, 14) & 0x0f;
  unsigned long long w = load_word(skb, 26);
  unsigned long long x = load_byte(skb, ihl * 4 + 14);
  unsigned long long y = load_half(skb, ihl * 4 + 16);
  unsigned long long z = load_word(skb, ihl + 20);
  return (int)(proto + w + x + y + z);
}
