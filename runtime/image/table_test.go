package image

import (
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	err := WriteTable(&b, []Image{
		{ID: "sha256:" + hex64('a'), RepoTags: []string{"docker.io/library/busybox:1", "tug.local/busybox:1"}, Size: 1150852},
		{ID: "sha256:" + hex64('b'), RepoDigests: []string{"127.0.0.1:5000/x@sha256:" + hex64('c')}, Size: 999},
		{ID: "sha256:" + hex64('d'), Size: 2_500_000_000},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `REPOSITORY                  TAG      IMAGE ID        SIZE
docker.io/library/busybox   1        aaaaaaaaaaaaa   1.15MB
tug.local/busybox           1        aaaaaaaaaaaaa   1.15MB
127.0.0.1:5000/x            <none>   bbbbbbbbbbbbb   999B
<none>                      <none>   ddddddddddddd   2.5GB
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}
