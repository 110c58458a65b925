package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The remote command channels.
const (
	chanStdin  = 0
	chanStdout = 1
	chanStderr = 2
	chanError  = 3
	chanResize = 4
	// chanClose (v5) is followed by the channel being half-closed.
	chanClose = 255
)

// The WebSocket subprotocols served, preferred first.
const (
	protocolV5 = "v5.channel.k8s.io"
	protocolV4 = "v4.channel.k8s.io"
)

// writeWait bounds one frame write to a stalled client.
const writeWait = 60 * time.Second

var upgrader = websocket.Upgrader{
	Subprotocols:    []string{protocolV5, protocolV4},
	ReadBufferSize:  32 * 1024,
	WriteBufferSize: 32 * 1024,
	// The API server proxies from another origin; authorization is the
	// API server's job.
	CheckOrigin: func(*http.Request) bool { return true },
}

// execQuery is the parsed exec request (PodExecOptions as query).
type execQuery struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

func parseExecQuery(r *http.Request) (execQuery, error) {
	q := r.URL.Query()
	var e execQuery
	e.command = q["command"]
	if len(e.command) == 0 || e.command[0] == "" {
		return e, errors.New("you must specify at least one command for the container")
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"stdin", &e.stdin}, {"stdout", &e.stdout}, {"stderr", &e.stderr}, {"tty", &e.tty}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return e, fmt.Errorf("%s=%q is not a boolean", f.name, v)
		}
		*f.dst = b
	}
	if e.tty && e.stderr {
		e.stderr = false // a terminal merges stderr into stdout, as the kubelet does
	}
	if !e.stdin && !e.stdout && !e.stderr {
		return e, errors.New("you must specify at least 1 of stdin, stdout, stderr")
	}
	return e, nil
}

func (s *server) serveExec(w http.ResponseWriter, r *http.Request) {
	ns, pod, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	q, err := parseExecQuery(r)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, err.Error())
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		writeStatus(w, http.StatusBadRequest, "exec needs a WebSocket upgrade (protocol "+protocolV5+" or "+protocolV4+"); SPDY is not supported")
		return
	}
	if !offers(r, protocolV5) && !offers(r, protocolV4) {
		writeStatus(w, http.StatusBadRequest, "unsupported remote command protocol: want "+protocolV5+" or "+protocolV4)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	defer ws.Close()
	c := newChannelConn(ws, ws.Subprotocol() == protocolV5)

	req := ExecRequest{Command: q.command, TTY: q.tty}
	var stdinR *io.PipeReader
	if q.stdin {
		stdinR, c.stdin = io.Pipe()
		req.Stdin = stdinR
	}
	if q.stdout {
		req.Stdout = c.writer(chanStdout)
	}
	if q.stderr {
		req.Stderr = c.writer(chanStderr)
	}
	var resize chan TerminalSize
	if q.tty {
		resize = make(chan TerminalSize, 4)
		c.resize = resize
		req.Resize = resize
	}
	// Tell the client the streams are ready: an empty frame on the lowest
	// writable channel, as the kubelet does.
	switch {
	case q.stdout:
		_ = c.send(chanStdout, nil)
	case q.stderr:
		_ = c.send(chanStderr, nil)
	default:
		_ = c.send(chanError, nil)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.readLoop()
	}()

	code, err := s.b.Exec(r.Context(), ns, pod, ctr, req)
	if stdinR != nil {
		stdinR.Close()
	}
	_ = c.send(chanError, statusJSON(q.command, code, err))
	_ = c.closeNormally()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
	}
}

// offers reports whether the client asked for protocol.
func offers(r *http.Request, protocol string) bool {
	for _, p := range websocket.Subprotocols(r) {
		if strings.TrimSpace(p) == protocol {
			return true
		}
	}
	return false
}

// statusJSON is the error channel's final message.
func statusJSON(command []string, code int, err error) []byte {
	st := metav1.Status{Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: err.Error()}
		if errors.Is(err, ErrNotFound) {
			st.Reason, st.Message = metav1.StatusReasonNotFound, trimSentinel(err.Error(), ErrNotFound)
		} else if errors.Is(err, ErrBadRequest) {
			st.Reason, st.Message = metav1.StatusReasonBadRequest, trimSentinel(err.Error(), ErrBadRequest)
		}
	case code != 0:
		st = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: error executing command %v, exit code %d", command, code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(code)}}},
		}
	}
	data, _ := json.Marshal(st)
	return data
}

// channelConn multiplexes the channels over one WebSocket.
type channelConn struct {
	ws *websocket.Conn
	v5 bool

	writeMu sync.Mutex
	stdin   *io.PipeWriter
	resize  chan TerminalSize
}

func newChannelConn(ws *websocket.Conn, v5 bool) *channelConn {
	return &channelConn{ws: ws, v5: v5}
}

func (c *channelConn) send(channel byte, data []byte) error {
	frame := make([]byte, 1+len(data))
	frame[0] = channel
	copy(frame[1:], data)
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return c.ws.WriteMessage(websocket.BinaryMessage, frame)
}

func (c *channelConn) closeNormally() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

// writer is an io.Writer sending on a channel.
func (c *channelConn) writer(channel byte) io.Writer { return channelWriter{c, channel} }

type channelWriter struct {
	c       *channelConn
	channel byte
}

func (w channelWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.c.send(w.channel, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// readLoop dispatches the client's frames (stdin, resize, close signals)
// until the connection ends; reading also answers the client's pings.
func (c *channelConn) readLoop() {
	defer func() {
		if c.stdin != nil {
			c.stdin.Close()
		}
		if c.resize != nil {
			close(c.resize)
		}
	}()
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.BinaryMessage || len(data) == 0 {
			continue
		}
		switch data[0] {
		case chanStdin:
			if c.stdin != nil {
				if _, err := c.stdin.Write(data[1:]); err != nil {
					c.stdin = nil // the process is gone; drop further input
				}
			}
		case chanResize:
			if c.resize == nil {
				continue
			}
			var size TerminalSize
			if err := json.NewDecoder(bytes.NewReader(data[1:])).Decode(&size); err == nil {
				select {
				case c.resize <- size:
				default: // a newer size will follow
				}
			}
		case chanClose:
			if c.v5 && len(data) == 2 && data[1] == chanStdin && c.stdin != nil {
				c.stdin.Close()
				c.stdin = nil
			}
		}
	}
}
