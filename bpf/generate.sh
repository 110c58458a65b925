#!/bin/sh
# Regenerates the committed bpf2go output (bpf/lb/lb_bpfel.go and
# bpf/lb/lb_bpfel.o) from bpf/c/lb.c. The output is byte for byte the same on
# any host with Debian 12's clang-14, llvm-strip-14 and libbpf-dev (the
# kernel UAPI definitions are committed in bpf/c/include), whatever the
# checkout's path.
#
#   bpf/generate.sh          regenerate in place (then: git diff --exit-code)
#   bpf/generate.sh --check  regenerate and fail if the result differs from
#                            the files present before (which are restored)
set -eu
cd "$(dirname "$0")/.."

for tool in clang-14 llvm-strip-14; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bpf/generate.sh: $tool not found: apt-get install -y clang-14 llvm-14" >&2
		exit 1
	fi
done
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
	echo "bpf/generate.sh: /usr/include/bpf/bpf_helpers.h not found: apt-get install -y libbpf-dev" >&2
	exit 1
fi

# bpf2go reads these; the go:generate line must be the only input.
unset BPF2GO_CC BPF2GO_STRIP BPF2GO_CFLAGS BPF2GO_MAKEBASE

outputs="bpf/lb/lb_bpfel.go bpf/lb/lb_bpfel.o"
if [ "${1:-}" = "--check" ]; then
	saved=$(mktemp -d)
	trap 'rm -rf "$saved"' EXIT
	cp $outputs "$saved/"
	go generate ./bpf/...
	status=0
	for f in $outputs; do
		if ! cmp -s "$f" "$saved/$(basename "$f")"; then
			echo "bpf/generate.sh: $f differs from its regenerated version" >&2
			cp "$saved/$(basename "$f")" "$f"
			status=1
		fi
	done
	exit $status
fi
go generate ./bpf/...
