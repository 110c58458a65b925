package etcdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// member is one etcd process and the places it owns.
type member struct {
	name      string
	dataDir   string
	logPath   string
	clientURL string
	peerURL   string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error         // cmd.Wait's result, valid once exited is closed
}

func newMembers(root string, ports []int, n int) []*member {
	ms := make([]*member, n)
	for i := range ms {
		name := fmt.Sprintf("m%d", i)
		ms[i] = &member{
			name:      name,
			dataDir:   filepath.Join(root, name+".etcd"),
			logPath:   filepath.Join(root, name+".log"),
			clientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
		}
	}
	return ms
}

// args is the member's command line. On a restart the data directory
// exists and etcd ignores the initial-cluster flags.
func (m *member) args(token, initialCluster string) []string {
	return []string{
		"--name", m.name,
		"--data-dir", m.dataDir,
		"--listen-client-urls", m.clientURL,
		"--advertise-client-urls", m.clientURL,
		"--listen-peer-urls", m.peerURL,
		"--initial-advertise-peer-urls", m.peerURL,
		"--initial-cluster", initialCluster,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", token,
		// As embedetcd does, and as tug recommends for an external
		// cluster: watches that ask for progress get it every 5s (etcd
		// 3.4's default is 10 minutes).
		"--experimental-watch-progress-notify-interval", "5s",
		"--logger", "zap",
		"--log-outputs", "stderr",
	}
}

func (m *member) start(token, initialCluster string) error {
	if err := os.MkdirAll(filepath.Dir(m.dataDir), 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s log: %w", m.name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "--- etcdtest: starting %s at %s\n", m.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(Binary, m.args(token, initialCluster)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(m.dataDir)
	// Should the test binary die without running its cleanups (a test
	// timeout, a crash), the kernel kills the member with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s %s: %w", Binary, m.name, err)
	}
	m.cmd, m.exited, m.waitErr = cmd, make(chan struct{}), nil
	go func(exited chan struct{}) {
		err := cmd.Wait()
		m.waitErr = err
		close(exited)
	}(m.exited)
	return nil
}

func (m *member) alive() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

func (m *member) pid() int {
	if !m.alive() {
		return 0
	}
	return m.cmd.Process.Pid
}

// kill sends SIGKILL to the member's own process (the os.Process this
// harness started, never a lookup by name) and waits for it to be reaped.
func (m *member) kill() error {
	if !m.alive() {
		return nil
	}
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil && !m.exitedNow() {
		return fmt.Errorf("SIGKILL to pid %d: %w", m.cmd.Process.Pid, err)
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("pid %d did not exit 30s after SIGKILL", m.cmd.Process.Pid)
	}
}

func (m *member) exitedNow() bool {
	select {
	case <-m.exited:
		return true
	default:
		return false
	}
}
