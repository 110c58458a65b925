package container

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/system"

	"github.com/tug-sh/tug/runtime/logs"
)

// monitorReportFd is the descriptor on which the monitor tells Start that
// the container runs (or why it does not).
const monitorReportFd = 3

// monitorReport is the monitor's one message to Start.
type monitorReport struct {
	InitPid int    `json:"initPid,omitempty"`
	Error   string `json:"error,omitempty"`
}

// runMonitor is the monitor role: argv is the container's state directory.
func runMonitor(argv []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if len(argv) != 1 {
		log.Error("monitor: usage: " + monitorArg + " CONTAINER-STATE-DIR")
		return 2
	}
	log = log.With("container", filepath.Base(argv[0]))
	report := os.NewFile(monitorReportFd, "monitor-report")
	if err := monitor(argv[0], report, log); err != nil {
		log.Error("monitor failed", "err", err)
		return 1
	}
	return 0
}

// monitor creates and starts the container, reports to Start, then waits for
// the container's exit while copying its output into the log, and records
// the exit in exit.json. Being the container init's parent is what lets it
// learn the exit code, whoever started it and whether or not that process
// still runs.
func monitor(dir string, report *os.File, log *slog.Logger) error {
	reported := false
	sendReport := func(r monitorReport) {
		if !reported {
			reported = true
			_ = json.NewEncoder(report).Encode(r)
			report.Close()
		}
	}
	fail := func(err error) error {
		sendReport(monitorReport{Error: err.Error()})
		return err
	}

	var spec launchSpec
	if err := readJSON(filepath.Join(dir, launchFile), &spec); err != nil {
		return fail(fmt.Errorf("read launch spec: %w", err))
	}
	// Outlive memory pressure in the containers, and the agent's end:
	// neither its terminal nor its service manager's SIGTERM stops the
	// monitor.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("-999"), 0)
	absorbSignals(log)

	stdout, stderr, copyOutput, err := outputPipes(spec)
	if err != nil {
		return fail(err)
	}
	c, err := libcontainer.Create(spec.LibcontainerRoot, spec.ID, spec.Config)
	if err != nil {
		stdout.Close()
		stderr.Close()
		return fail(fmt.Errorf("create container: %w", err))
	}
	p := &libcontainer.Process{
		Args:             spec.Process.Args,
		Env:              spec.Process.Env,
		Cwd:              spec.Process.Cwd,
		UID:              spec.Process.UID,
		GID:              spec.Process.GID,
		AdditionalGroups: spec.Process.AdditionalGIDs,
		Stdout:           stdout,
		Stderr:           stderr,
		Init:             true,
	}
	runErr := c.Run(p)
	// The container holds its own copies of the write ends now; closing
	// ours lets the copiers see EOF when the container's are all closed.
	stdout.Close()
	stderr.Close()
	if runErr != nil {
		if derr := c.Destroy(); derr != nil {
			log.Error("destroy after failed start", "err", derr)
		}
		copyOutput.wait()
		return fail(fmt.Errorf("start container: %w", runErr))
	}
	pid, err := p.Pid()
	if err != nil {
		return fail(fmt.Errorf("container pid: %w", err))
	}
	rec := startedRecord{MonitorPid: os.Getpid(), InitPid: pid, StartedAt: time.Now()}
	if st, err := system.Stat(os.Getpid()); err == nil {
		rec.MonitorStartTime = st.StartTime
	}
	if st, err := system.Stat(pid); err == nil {
		rec.InitStartTime = st.StartTime
	}
	if err := writeJSONAtomic(filepath.Join(dir, startedFile), rec); err != nil {
		_ = c.Signal(syscall.SIGKILL)
		_, _ = p.Wait()
		_ = c.Destroy()
		return fail(err)
	}
	sendReport(monitorReport{InitPid: pid})
	log.Info("container started", "pid", pid)

	ps, waitErr := p.Wait()
	exit := exitFromProcessState(ps, waitErr, time.Now())
	if st, err := c.State(); err != nil {
		log.Warn("cannot read cgroup paths for OOM detection", "err", err)
	} else if oom, err := filesFromPaths(st.CgroupPaths).oomKilled(exit.Signal == syscall.SIGKILL); err != nil {
		log.Warn("cannot read OOM counters", "err", err)
	} else if oom {
		exit.OOMKilled = true
	}
	exit.Reason = exitReason(exit)
	// The log is complete once every writer of the pipes is gone; in the
	// container's own PID namespace they died with its init.
	copyOutput.wait()
	if err := writeJSONAtomic(filepath.Join(dir, exitFile), exit); err != nil {
		return err
	}
	log.Info("container exited", "code", exit.Code, "reason", exit.Reason)
	return nil
}

// absorbSignals makes the monitor survive the signals that end a process
// by default. It catches them rather than ignoring them: an ignored signal
// stays ignored across execve, in the container's processes, while a caught
// one is reset to the default. Catching also undoes an ignore inherited from
// the agent (started under nohup, say).
func absorbSignals(log *slog.Logger) {
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT,
		syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	go func() {
		for sig := range c {
			log.Info("monitor ignores signal", "signal", sig)
		}
	}()
}

// outputCopier waits for the copying of the container's output to the log.
type outputCopier struct {
	wg     sync.WaitGroup
	writer *logs.Writer
}

func (o *outputCopier) wait() {
	o.wg.Wait()
	if o.writer != nil {
		o.writer.Close()
	}
}

// outputPipes returns the container's stdout and stderr: pipes copied into
// the CRI log, or /dev/null when there is no log.
func outputPipes(spec launchSpec) (stdout, stderr *os.File, copier *outputCopier, err error) {
	copier = &outputCopier{}
	if spec.LogPath == "" {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, nil, err
		}
		// Two descriptors so both can be closed independently.
		null2, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			null.Close()
			return nil, nil, nil, err
		}
		return null, null2, copier, nil
	}
	w, err := logs.NewWriter(spec.LogPath, spec.LogRotation)
	if err != nil {
		return nil, nil, nil, err
	}
	copier.writer = w
	var writeEnds []*os.File
	for _, stream := range []logs.Stream{logs.Stdout, logs.Stderr} {
		r, wr, err := os.Pipe()
		if err != nil {
			for _, f := range writeEnds {
				f.Close()
			}
			w.Close()
			return nil, nil, nil, fmt.Errorf("output pipe: %w", err)
		}
		writeEnds = append(writeEnds, wr)
		copier.wg.Add(1)
		go func() {
			defer copier.wg.Done()
			defer r.Close()
			if err := w.CopyStream(r, stream); err != nil {
				// Keep draining so the container never blocks on a full pipe.
				_, _ = io.Copy(io.Discard, r)
			}
		}()
	}
	return writeEnds[0], writeEnds[1], copier, nil
}

// exitFromProcessState converts what wait(2) said.
func exitFromProcessState(ps *os.ProcessState, waitErr error, now time.Time) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1, Message: fmt.Sprintf("wait for container: %v", waitErr), FinishedAt: now}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ExitStatus{Code: ps.ExitCode(), FinishedAt: now}
	}
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal(), FinishedAt: now}
	}
	return ExitStatus{Code: ws.ExitStatus(), FinishedAt: now}
}

// exitReason is the Kubernetes reason for a terminated container.
func exitReason(e ExitStatus) string {
	switch {
	case e.OOMKilled:
		return "OOMKilled"
	case e.Code < 0:
		return "Unknown"
	case e.Code == 0:
		return "Completed"
	}
	return "Error"
}
