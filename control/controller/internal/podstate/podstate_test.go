package podstate

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStates(t *testing.T) {
	now := metav1.Now()
	ready := []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionTrue}, {Type: v1.PodReady, Status: v1.ConditionTrue}}
	notReady := []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse}}
	tests := []struct {
		name                    string
		pod                     v1.Pod
		ready, active, terminal bool
	}{
		{"pending without conditions", v1.Pod{Status: v1.PodStatus{Phase: v1.PodPending}}, false, true, false},
		{"running and ready", v1.Pod{Status: v1.PodStatus{Phase: v1.PodRunning, Conditions: ready}}, true, true, false},
		{"running not ready", v1.Pod{Status: v1.PodStatus{Phase: v1.PodRunning, Conditions: notReady}}, false, true, false},
		{"ready but terminating", v1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: v1.PodStatus{Phase: v1.PodRunning, Conditions: ready}}, true, false, false},
		{"succeeded", v1.Pod{Status: v1.PodStatus{Phase: v1.PodSucceeded}}, false, false, true},
		{"failed", v1.Pod{Status: v1.PodStatus{Phase: v1.PodFailed}}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsReady(&tt.pod); got != tt.ready {
				t.Errorf("IsReady = %v, want %v", got, tt.ready)
			}
			if got := IsActive(&tt.pod); got != tt.active {
				t.Errorf("IsActive = %v, want %v", got, tt.active)
			}
			if got := IsTerminal(&tt.pod); got != tt.terminal {
				t.Errorf("IsTerminal = %v, want %v", got, tt.terminal)
			}
		})
	}
}
