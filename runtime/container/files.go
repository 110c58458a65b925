package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"

	"github.com/tug-sh/tug/runtime/logs"
)

// The files of a container's state directory. Each is written once, whole,
// by one party, through a rename, so readers never see a partial file:
//
//	container.json  the description (Create)
//	launch.json     libcontainer config and process for the monitor (Create)
//	started.json    monitor and init PIDs (the monitor, once started)
//	exit.json       how the process ended (the monitor; or Wait, when the
//	                monitor was lost)
//	monitor.log     the monitor's own stderr
//	rootfs/, upper/, work/  the overlay
const (
	recordFile     = "container.json"
	launchFile     = "launch.json"
	startedFile    = "started.json"
	exitFile       = "exit.json"
	monitorLogFile = "monitor.log"
	rootfsDir      = "rootfs"
	upperDir       = "upper"
	workDir        = "work"
)

// record is container.json.
type record struct {
	Container Container `json:"container"`
	CreatedAt time.Time `json:"createdAt"`
}

// launchSpec is launch.json: everything the monitor needs to create and
// start the container.
type launchSpec struct {
	ID               string          `json:"id"`
	LibcontainerRoot string          `json:"libcontainerRoot"`
	Config           *configs.Config `json:"config"`
	Process          processSpec     `json:"process"`
	LogPath          string          `json:"logPath,omitempty"`
	LogRotation      logs.Rotation   `json:"logRotation"`
}

// processSpec is the container's main process, also the defaults of Exec.
type processSpec struct {
	Args           []string `json:"args"`
	Env            []string `json:"env"`
	Cwd            string   `json:"cwd"`
	UID            int      `json:"uid"`
	GID            int      `json:"gid"`
	AdditionalGIDs []int    `json:"additionalGids,omitempty"`
}

// startedRecord is started.json. Start times (clock ticks since boot, from
// /proc/PID/stat) tell a live process from a later one that reused its PID.
type startedRecord struct {
	MonitorPid       int       `json:"monitorPid"`
	MonitorStartTime uint64    `json:"monitorStartTime"`
	InitPid          int       `json:"initPid"`
	InitStartTime    uint64    `json:"initStartTime"`
	StartedAt        time.Time `json:"startedAt"`
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("container: encode %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("container: write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("container: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("container: write %s: %w", path, err)
	}
	return nil
}

// readJSON reads path into v; a missing file is reported as os.ErrNotExist.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("container: decode %s: %w", path, err)
	}
	return nil
}
