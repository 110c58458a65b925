package image

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerConfigKeychain resolves credentials from the "auths" of a docker
// config.json (or a Kubernetes .dockerconfigjson / legacy .dockercfg): the
// formats of imagePullSecrets and of a configured DockerConfig path.
// Credential helpers are not run.
type dockerConfigKeychain map[string]authn.AuthConfig

// parseDockerConfig reads {"auths": {"host": {...}}} or the legacy
// {"host": {...}}.
func parseDockerConfig(b []byte) (dockerConfigKeychain, error) {
	var withAuths struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(b, &withAuths); err != nil {
		return nil, fmt.Errorf("image: docker config is not valid JSON: %w", err)
	}
	entries := withAuths.Auths
	if entries == nil {
		var legacy map[string]authn.AuthConfig
		if err := json.Unmarshal(b, &legacy); err != nil {
			entries = nil // a config.json without auths (e.g. only credHelpers)
		} else {
			entries = legacy
		}
	}
	kc := dockerConfigKeychain{}
	for k, v := range entries {
		kc[authKey(k)] = v
	}
	return kc, nil
}

// loadDockerConfig reads a config.json, or dir/config.json for a directory.
func loadDockerConfig(path string) (dockerConfigKeychain, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image: read registry credentials: %w", err)
	}
	kc, err := parseDockerConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kc, nil
}

// authKey normalizes a config.json key: "https://index.docker.io/v1/",
// "docker.io" and "registry-1.docker.io" are Docker Hub; a scheme and a
// path are dropped.
func authKey(k string) string {
	k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
	if i := strings.IndexByte(k, '/'); i >= 0 {
		k = k[:i]
	}
	return familiarRegistry(k)
}

// Resolve implements authn.Keychain.
func (kc dockerConfigKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := kc[familiarRegistry(r.RegistryStr())]; ok {
		return authn.FromConfig(c), nil
	}
	return authn.Anonymous, nil
}

// keychain is where a pull finds credentials: the pull's own docker
// config (an imagePullSecret) first, then the Store's.
func (s *Store) keychain(pullSecret []byte) (authn.Keychain, error) {
	var base authn.Keychain = authn.DefaultKeychain
	if s.cfg.DockerConfig != "" {
		kc, err := loadDockerConfig(s.cfg.DockerConfig)
		if err != nil {
			return nil, err
		}
		base = kc
	}
	if len(pullSecret) == 0 {
		return base, nil
	}
	kc, err := parseDockerConfig(pullSecret)
	if err != nil {
		return nil, fmt.Errorf("image pull secret: %w", err)
	}
	return authn.NewMultiKeychain(kc, base), nil
}
