package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killGrace is how long a process group has between SIGTERM and SIGKILL.
const killGrace = 10 * time.Second

// goCmd runs go commands in the module root.
type goCmd struct {
	goBin string // the go command
	root  string // module root, where commands run
	env   []string
}

// cmdResult is the outcome of one go command.
type cmdResult struct {
	err      error
	stderr   string
	cpu      time.Duration // user+system time of the command and its waited-for children
	killed   bool          // its group was signalled because ctx ended
	leftover int           // processes still in its group after it exited, killed
}

// run starts `go args...` in its own process group, passes each stdout line
// to onLine and each stderr line to onStderr, and waits. When ctx ends the
// group gets SIGTERM, then SIGKILL after killGrace. Once the command has
// exited, whatever it left running in its group is killed.
func (g goCmd) run(ctx context.Context, args []string, onLine func(string), onStderr func(string)) cmdResult {
	rOut, wOut, err := os.Pipe()
	if err != nil {
		return cmdResult{err: err}
	}
	rErr, wErr, err := os.Pipe()
	if err != nil {
		rOut.Close()
		wOut.Close()
		return cmdResult{err: err}
	}
	cmd := exec.Command(g.goBin, args...)
	cmd.Dir = g.root
	cmd.Env = g.env
	cmd.Stdout, cmd.Stderr = wOut, wErr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	wOut.Close()
	wErr.Close()
	if err != nil {
		rOut.Close()
		rErr.Close()
		return cmdResult{err: fmt.Errorf("starting go %s: %w", strings.Join(args, " "), err)}
	}
	pgid := cmd.Process.Pid

	var stderrBuf strings.Builder
	var readers sync.WaitGroup
	readers.Go(func() { scanLines(rOut, onLine) })
	readers.Go(func() {
		scanLines(rErr, func(l string) {
			stderrBuf.WriteString(l + "\n")
			if onStderr != nil {
				onStderr(l)
			}
		})
	})

	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitExitedNoReap(pgid)
	}()
	var res cmdResult
	select {
	case <-exited:
	case <-ctx.Done():
		res.killed = true
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(killGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
	}
	// The leader is a zombie, not yet reaped, so the group id is still
	// ours: kill what the command left running in it.
	res.leftover = killGroupExcept(pgid, pgid)
	// Output ends when every holder of the pipes has gone; a process that
	// left the group may still hold them, so do not wait forever.
	readDone := make(chan struct{})
	go func() {
		readers.Wait()
		close(readDone)
	}()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		rOut.Close()
		rErr.Close()
		<-readDone
	}
	rOut.Close()
	rErr.Close()
	res.err = cmd.Wait()
	res.stderr = tail(stderrBuf.String(), 40)
	if ps := cmd.ProcessState; ps != nil {
		res.cpu = ps.UserTime() + ps.SystemTime()
	}
	return res
}

// waitExitedNoReap blocks until pid has exited, leaving it unreaped.
func waitExitedNoReap(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

func scanLines(r io.Reader, f func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		f(sc.Text())
	}
	_, _ = io.Copy(io.Discard, r)
}

// killGroupExcept SIGKILLs every process of process group pgid but
// except (the group's leader, still ours until reaped) and returns how
// many it signalled.
func killGroupExcept(pgid, except int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == except {
			continue
		}
		if processGroup(pid) == pgid {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}

// processGroup reads the process group of pid from /proc/PID/stat (-1 if
// unknown).
func processGroup(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; fields after its closing
	// parenthesis are: state, ppid, pgrp.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return -1
	}
	pg, err := strconv.Atoi(f[2])
	if err != nil {
		return -1
	}
	return pg
}

// goTestJSON runs a go test command with -json and feeds its events to s;
// other stdout lines go to onText.
func (g goCmd) goTestJSON(ctx context.Context, args []string, s *stream, onEvent func(event), onText func(string)) cmdResult {
	return g.run(ctx, args, func(line string) {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Action == "" {
			if onText != nil {
				onText(line)
			}
			return
		}
		s.add(e)
		if onEvent != nil {
			onEvent(e)
		}
	}, onText)
}

// output runs a short go command and returns its stdout.
func (g goCmd) output(ctx context.Context, args ...string) (string, error) {
	var out strings.Builder
	res := g.run(ctx, args, func(l string) { out.WriteString(l + "\n") }, nil)
	if res.err != nil {
		var ee *exec.ExitError
		if errors.As(res.err, &ee) {
			return out.String(), fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), res.err, res.stderr)
		}
		return out.String(), res.err
	}
	return out.String(), nil
}
