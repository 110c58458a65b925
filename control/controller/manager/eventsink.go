package manager

import (
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
)

// eventSink wraps the API sink of the event broadcasters and counts the
// writes in flight, so that a term ends only after its last event write
// returned (no write from a deposed leader after Run returns).
type eventSink struct {
	inner  record.EventSink
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (s *eventSink) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return apierrors.NewServiceUnavailable("the controllers stopped; event dropped")
	}
	s.wg.Add(1)
	return nil
}

func (s *eventSink) Create(e *v1.Event) (*v1.Event, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.wg.Done()
	return s.inner.Create(e)
}

func (s *eventSink) Update(e *v1.Event) (*v1.Event, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.wg.Done()
	return s.inner.Update(e)
}

func (s *eventSink) Patch(e *v1.Event, data []byte) (*v1.Event, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.wg.Done()
	return s.inner.Patch(e, data)
}

// close refuses new writes and waits (at most timeout) for those in flight.
func (s *eventSink) close(timeout time.Duration) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
