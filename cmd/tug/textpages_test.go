package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseReadOnlyMappings(t *testing.T) {
	const exe = "/usr/local/bin/tug"
	maps := `00400000-00403000 r--p 00000000 fe:01 123 /usr/local/bin/tug
00403000-026a6000 r-xp 00003000 fe:01 123 /usr/local/bin/tug
026a6000-0501c000 r--p 022a6000 fe:01 123 /usr/local/bin/tug
0501c000-0513f000 rw-p 04c1c000 fe:01 123 /usr/local/bin/tug
7f0000000000-7f0000001000 r--s 00000000 fe:01 123 /usr/local/bin/tug
7f0000002000-7f0000003000 r-xp 00000000 fe:01 456 /usr/lib/libc.so.6
7f0000004000-7f0000005000 rw-p 00000000 00:00 0
7f0000006000-7f0000007000 r--p 00000000 fe:01 789 /usr/local/bin/tug (deleted)
`
	got, err := parseReadOnlyMappings(strings.NewReader(maps), exe)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x400000, 0x403000}, {0x403000, 0x26a6000}, {0x26a6000, 0x501c000}}
	if len(got) != len(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: %x, want %x", i, got[i], want[i])
		}
	}
	if _, err := parseReadOnlyMappings(strings.NewReader("zz-00 r--p 0 0:0 1 "+exe+"\n"), exe); err == nil {
		t.Error("a bad range was accepted")
	}
}

// TestTrimBinaryPages runs it on this test binary and checks the kernel's
// view: its read-only mappings are marked no-huge-page and random-read
// ("nh" and "rr" in VmFlags) and none of them is mapped in 2 MiB pages any
// more, while the process goes on running code from them.
func TestTrimBinaryPages(t *testing.T) {
	if err := trimBinaryPages(); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		seen, inExe bool
		rangeName   string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			perms := fields[1]
			inExe = len(fields) >= 6 && strings.Join(fields[5:], " ") == exe && perms[1] != 'w' && perms[3] == 'p'
			rangeName = fields[0]
			if inExe {
				seen = true
			}
			continue
		}
		if !inExe {
			continue
		}
		switch fields[0] {
		case "FilePmdMapped:":
			if kb, _ := strconv.Atoi(fields[1]); kb != 0 {
				t.Errorf("%s still has %d kB mapped in huge pages", rangeName, kb)
			}
		case "VmFlags:":
			if !contains(fields[1:], "nh") {
				t.Errorf("%s is not marked no-huge-page: %s", rangeName, line)
			}
			if !contains(fields[1:], "rr") {
				t.Errorf("%s is not marked random-read (no read-around): %s", rangeName, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Fatalf("no read-only mapping of %s in /proc/self/smaps", exe)
	}
}
