package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podRecord is what the agent keeps on disk about a pod it runs, in
// <data>/pods/<uid>/pod.json, so that a restarted agent knows the pod's
// address, its containers' instances, restart counts, last states and
// backoffs. The container runtime keeps the instances themselves.
type podRecord struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	UID         types.UID `json:"uid"`
	HostNetwork bool      `json:"hostNetwork,omitempty"`
	// IP is the pod's address once allocated.
	IP        string    `json:"ip,omitempty"`
	StartTime time.Time `json:"startTime,omitzero"`
	// Containers by name (init and regular containers share the name
	// space).
	Containers map[string]*containerRecord `json:"containers,omitempty"`
	// Finished: the pod's containers were stopped and its sandbox removed
	// for good (it completed or is being deleted).
	Finished bool `json:"finished,omitempty"`
}

// containerRecord is one container of a pod across its instances.
type containerRecord struct {
	// Attempt is the newest instance's attempt (the restart count).
	Attempt int `json:"attempt"`
	// ID is the runtime's ID of the newest instance; "" before the first.
	ID string `json:"id,omitempty"`
	// StartedAt is when the newest instance started.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Exit is how the newest instance ended, once it has.
	Exit *v1.ContainerStateTerminated `json:"exit,omitempty"`
	// Last is how the instance before the newest one ended.
	Last *v1.ContainerStateTerminated `json:"last,omitempty"`
	// Backoff is the restart backoff.
	Backoff backoff `json:"backoff,omitzero"`
	// Image is the image reference the instance runs (canonical), ImageID
	// its digest reference, ImageLower its root filesystem.
	Image   string `json:"image,omitempty"`
	ImageID string `json:"imageID,omitempty"`
	// ImageConfigID is the image's ID (config digest), for image GC.
	ImageConfigID string `json:"imageConfigID,omitempty"`
	// SpecHash identifies the container spec the instance was made from.
	SpecHash string `json:"specHash,omitempty"`
}

// containerHash identifies a container's spec; a running instance whose
// spec hash differs is replaced (the kubelet's container hash; resources
// are left out, as they change in place or not at all).
func containerHash(c v1.Container) string {
	c.Resources = v1.ResourceRequirements{}
	data, _ := json.Marshal(c)
	h := fnv.New64a()
	h.Write(data)
	return strconv.FormatUint(h.Sum64(), 16)
}

func (r *podRecord) key() string { return r.Namespace + "/" + r.Name }

func (r *podRecord) container(name string) *containerRecord {
	if r.Containers == nil {
		r.Containers = map[string]*containerRecord{}
	}
	c := r.Containers[name]
	if c == nil {
		c = &containerRecord{}
		r.Containers[name] = c
	}
	return c
}

// podDir is the directory of the pod's files: pod.json, etc/ (hosts,
// resolv.conf, hostname), logs/<container>/<attempt>.log, volumes/ and
// termination/ (termination message files).
func (a *Agent) podDir(uid types.UID) string { return filepath.Join(a.cfg.podsDir(), string(uid)) }

func (a *Agent) recordPath(uid types.UID) string { return filepath.Join(a.podDir(uid), "pod.json") }

// saveRecord writes the pod's record atomically (rename of a complete
// file). Concurrent savers of one pod (its containers stopping in
// parallel) take turns.
func (a *Agent) saveRecord(ps *podState) error {
	ps.saveMu.Lock()
	defer ps.saveMu.Unlock()
	ps.mu.Lock()
	r := ps.rec
	data, err := json.Marshal(r)
	ps.mu.Unlock()
	if err != nil {
		return fmt.Errorf("agent: encode record of pod %s: %w", r.key(), err)
	}
	dir := a.podDir(r.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agent: create pod directory: %w", err)
	}
	tmp := filepath.Join(dir, ".pod.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("agent: write record of pod %s: %w", r.key(), err)
	}
	if err := os.Rename(tmp, a.recordPath(r.UID)); err != nil {
		return fmt.Errorf("agent: write record of pod %s: %w", r.key(), err)
	}
	return nil
}

// loadRecords reads every pod record on disk. Directories without a
// readable record are returned as uids only (leftovers to remove).
func (a *Agent) loadRecords() (map[types.UID]*podRecord, []types.UID, error) {
	ents, err := os.ReadDir(a.cfg.podsDir())
	if errors.Is(err, os.ErrNotExist) {
		return map[types.UID]*podRecord{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("agent: list pod records: %w", err)
	}
	out := map[types.UID]*podRecord{}
	var broken []types.UID
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		uid := types.UID(e.Name())
		data, err := os.ReadFile(a.recordPath(uid))
		var r podRecord
		if err == nil {
			err = json.Unmarshal(data, &r)
		}
		if err != nil || r.UID != uid {
			broken = append(broken, uid)
			continue
		}
		out[uid] = &r
	}
	return out, broken, nil
}

// runtimeID names a container instance in the runtime: pod UID, container
// name and attempt, which are unique on a node and readable in `ls`.
func runtimeID(uid types.UID, name string, attempt int) string {
	return sanitizeID(string(uid)) + "_" + name + "_" + strconv.Itoa(attempt)
}

// sandboxID names the pod in the runtime (its IPC namespace).
func sandboxID(uid types.UID) string { return sanitizeID(string(uid)) }

// sanitizeID keeps the characters the runtime allows in IDs.
func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '+':
			return r
		}
		return '-'
	}, s)
}
