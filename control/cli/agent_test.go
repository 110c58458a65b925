package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// The node agent that serves pods/exec and pods/log is built later; until
// then these handlers stand in for its kubelet-compatible endpoints. The
// exec side is Kubernetes' own server library (wsstream, what kubelet
// uses), so the client is tested against the real wire protocol.

// execFunc runs a command for the test agent and returns its exit code.
type execFunc func(command []string, stdin io.Reader, stdout, stderr io.Writer) int

// serveExec answers one exec request over the v5.channel.k8s.io WebSocket
// protocol: channels stdin, stdout, stderr, error (a Status), resize.
func serveExec(t testing.TB, w http.ResponseWriter, r *http.Request, run execFunc) {
	channels := []wsstream.ChannelType{wsstream.ReadChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.ReadChannel}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommand.StreamProtocolV5Name: {Binary: true, Channels: channels},
	})
	_, streams, err := conn.Open(w, r)
	if err != nil {
		t.Errorf("test agent: opening the exec stream: %v", err)
		return
	}
	defer conn.Close()
	q := r.URL.Query()
	var stdin io.Reader = strings.NewReader("")
	if q.Get("stdin") == "true" || q.Get("input") == "1" {
		stdin = streams[0]
	}
	code := run(q["command"], stdin, streams[1], streams[2])
	status := metav1.Status{Status: metav1.StatusSuccess}
	if code != 0 {
		status = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(code)}}},
		}
	}
	if err := json.NewEncoder(streams[3]).Encode(status); err != nil {
		t.Errorf("test agent: writing the exec status: %v", err)
	}
}

// testCommand is what the test agent runs: "echo ARGS..." prints its
// arguments, "cat" copies stdin to stdout, "fail N" prints to stderr and
// exits N.
func testCommand(command []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(command) == 0 {
		fmt.Fprintln(stderr, "no command")
		return 127
	}
	switch command[0] {
	case "echo":
		fmt.Fprintln(stdout, strings.Join(command[1:], " "))
		return 0
	case "cat":
		io.Copy(stdout, stdin)
		return 0
	case "fail":
		fmt.Fprintln(stderr, "failing on purpose")
		n, _ := strconv.Atoi(command[1])
		return n
	}
	fmt.Fprintf(stderr, "%s: not found\n", command[0])
	return 127
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
