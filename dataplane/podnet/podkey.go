package podnet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// PodKey identifies one incarnation of a pod: a pod deleted and re-created
// under the same name has a new UID and so a new sandbox.
type PodKey struct {
	Namespace string
	Name      string
	UID       string
}

// String returns "namespace/name/uid", the form dataplane/ipam keys on.
func (k PodKey) String() string { return k.Namespace + "/" + k.Name + "/" + k.UID }

// Validate reports a missing or malformed field.
func (k PodKey) Validate() error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"namespace", k.Namespace}, {"name", k.Name}, {"uid", k.UID},
	} {
		switch {
		case f.value == "":
			errs = append(errs, fmt.Errorf("pod %s is empty", f.name))
		case strings.ContainsAny(f.value, "/ \t\n\x00"):
			errs = append(errs, fmt.Errorf("pod %s %q contains '/', whitespace or NUL", f.name, f.value))
		}
	}
	return errors.Join(errs...)
}

// SandboxID returns the pod's sandbox id: 16 hex digits of the SHA-256 of
// the key. Pins are named "tug-<id>".
func SandboxID(k PodKey) string {
	sum := sha256.Sum256([]byte(k.String()))
	return hex.EncodeToString(sum[:8])
}

const (
	// PodInterface is the name of the pod's interface inside its namespace.
	PodInterface = "eth0"
	// pinPrefix starts the name of every netns pin podnet creates, so a
	// shared directory such as /run/netns can be scanned safely.
	pinPrefix = "tug-"
	// vethPrefix starts the name of every host veth podnet creates.
	vethPrefix = "tug"
	// maxAliasLen keeps an alias below the kernel's IFALIASZ (256).
	maxAliasLen = 255
)

var (
	sandboxIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)
	vethNamePattern  = regexp.MustCompile(`^tug[0-9a-f]{8}$`)
)

// HostVethName returns the host-side veth name of a sandbox: "tug" and the
// first 8 hex digits of its id (11 characters, below IFNAMSIZ).
func HostVethName(id string) string { return vethPrefix + id[:8] }

func pinName(id string) string { return pinPrefix + id }

// idFromPin returns the sandbox id of a pin file name, or "" if the name is
// not one podnet creates.
func idFromPin(name string) string {
	id, ok := strings.CutPrefix(name, pinPrefix)
	if !ok || !sandboxIDPattern.MatchString(id) {
		return ""
	}
	return id
}

// vethAlias is the alias stored on a host veth: the sandbox id, then
// namespace/name for humans (truncated to fit).
func vethAlias(id string, k PodKey) string {
	a := id + " " + k.Namespace + "/" + k.Name
	if len(a) > maxAliasLen {
		a = a[:maxAliasLen]
	}
	return a
}

// parseVethAlias returns the sandbox id and pod label of an alias written by
// vethAlias; id is "" if the alias is not one.
func parseVethAlias(alias string) (id, pod string) {
	id, pod, _ = strings.Cut(alias, " ")
	if !sandboxIDPattern.MatchString(id) {
		return "", ""
	}
	return id, pod
}
