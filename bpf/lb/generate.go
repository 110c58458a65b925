package lb

// The object is compiled for any little-endian host (bpfel) with Debian's
// clang 14; -mcpu=v3 is needed for the value-returning atomic add of the
// round-robin counters. The output (lb_bpfel.go, lb_bpfel.o) is committed, so
// building tug never needs clang. Reproduce it with bpf/generate.sh.
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel lb ../c/lb.c -- -I../c/include -mcpu=v3 -Wall -Werror
