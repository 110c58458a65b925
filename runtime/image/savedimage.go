package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// savedImage is one image of an extracted `docker save` archive: its
// config file and layer files, described by an OCI manifest made here
// (layers are stored as they are in the archive: uncompressed tar for
// docker itself, gzip for other tools).
type savedImage struct {
	config   []byte
	cfgHash  v1.Hash
	manifest []byte
	layers   map[v1.Hash]*blobLayer
}

func newSavedImage(dir, config string, layers []string) (v1.Image, error) {
	cfgPath, err := archivePath(dir, config)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("%w: config %s: %v", ErrInvalidImage, config, err)
	}
	cfgHash, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	si := &savedImage{config: raw, cfgHash: cfgHash, layers: map[v1.Hash]*blobLayer{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: size, Digest: cfgHash},
	}
	for _, l := range layers {
		p, err := archivePath(dir, l)
		if err != nil {
			return nil, err
		}
		bl, err := describeLayerFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: layer %s: %v", ErrInvalidImage, l, err)
		}
		sz, _ := bl.Size()
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: bl.mediaType, Size: sz, Digest: bl.digest})
		si.layers[bl.digest] = bl
	}
	if si.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(si)
}

// archivePath resolves a path named inside an archive's manifest.
func archivePath(dir, name string) (string, error) {
	clean, err := cleanEntryName(name)
	if err != nil || clean == "." {
		return "", fmt.Errorf("%w: archive names file %q", ErrInvalidImage, name)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

// describeLayerFile hashes a layer file and tells its compression.
func describeLayerFile(p string) (*blobLayer, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	n, _ := io.ReadFull(f, magic)
	mt := types.OCIUncompressedLayer
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		mt = types.OCILayer
	case n == 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		mt = types.OCILayerZStd
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h, _, err := v1.SHA256(f)
	if err != nil {
		return nil, err
	}
	return &blobLayer{path: p, digest: h, mediaType: mt}, nil
}

func (si *savedImage) RawConfigFile() ([]byte, error)      { return si.config, nil }
func (si *savedImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (si *savedImage) RawManifest() ([]byte, error)        { return si.manifest, nil }

func (si *savedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := si.layers[h]; ok {
		return l, nil
	}
	if h == si.cfgHash {
		return partial.ConfigLayer(si)
	}
	return nil, fmt.Errorf("%w: no blob %s in the archive", ErrInvalidImage, h)
}
