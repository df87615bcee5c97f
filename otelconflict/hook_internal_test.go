package otelconflict

import (
	"context"
	"testing"

	"github.com/go-conflict/conflict"
)

// Calls that end without a final event (a transport error after a
// conflict) are forgotten, oldest first, once maxCalls are followed.
func TestHookForgetsOldestCalls(t *testing.T) {
	h := newHook(newConfig(nil))
	for id := uint64(1); id <= maxCalls+10; id++ {
		h.handle(context.Background(), conflict.Event{Step: conflict.StepConflict, CallID: id, Method: "PUT", URL: "http://x/y", Kind: conflict.StaleVersion})
	}
	if len(h.state) != maxCalls {
		t.Fatalf("following %d calls, want %d", len(h.state), maxCalls)
	}
	for id := uint64(1); id <= 10; id++ {
		if h.state[callKey{id: id, method: "PUT", url: "http://x/y"}] != nil {
			t.Errorf("call %d is still followed", id)
		}
	}
	h.handle(context.Background(), conflict.Event{Step: conflict.StepDone, CallID: maxCalls + 10, Method: "PUT", URL: "http://x/y", Outcome: conflict.Merged})
	if len(h.state) != maxCalls-1 {
		t.Errorf("following %d calls after one ended, want %d", len(h.state), maxCalls-1)
	}
}

func TestClip(t *testing.T) {
	if got := clip("héllo", 2); got != "h" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("abc", 5); got != "abc" {
		t.Errorf("clip = %q", got)
	}
}
