package cli

import (
	"io"
	"os"
	"testing"

	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// The test agent's WebSocket server (Kubernetes' wsstream) logs every
	// connection the client closes; that is expected here, not news.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}
