package jsonmerge

import (
	"errors"
	"testing"
)

// TestApplyChangesArrayAlignment: elements the type shows in part keep
// what it does not show when the change adds, removes or moves elements;
// a change that cannot be told apart from a removal fails.
func TestApplyChangesArrayAlignment(t *testing.T) {
	doc := `{"items":[{"id":1,"x":"one"},{"id":2,"x":"two"}]}`
	view := `{"items":[{"id":1},{"id":2}]}`
	for _, tc := range []struct{ name, changed, want string }{
		{"remove first", `{"items":[{"id":2}]}`, `{"items":[{"id":2,"x":"two"}]}`},
		{"prepend", `{"items":[{"id":0},{"id":1},{"id":2}]}`, `{"items":[{"id":0},{"id":1,"x":"one"},{"id":2,"x":"two"}]}`},
		{"append", `{"items":[{"id":1},{"id":2},{"id":3}]}`, `{"items":[{"id":1,"x":"one"},{"id":2,"x":"two"},{"id":3}]}`},
		{"swap", `{"items":[{"id":2},{"id":1}]}`, `{"items":[{"id":2,"x":"two"},{"id":1,"x":"one"}]}`},
		{"edit in place", `{"items":[{"id":1},{"id":7}]}`, `{"items":[{"id":1,"x":"one"},{"id":7,"x":"two"}]}`},
		{"remove one, change the other", `{"items":[{"id":5}]}`, ""},
	} {
		out, err := ApplyChanges([]byte(view), []byte(tc.changed), []byte(doc))
		if tc.want == "" {
			if !errors.Is(err, ErrConflict) {
				t.Errorf("%s: %s, %v; want ErrConflict", tc.name, out, err)
			}
			continue
		}
		if err != nil || string(out) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.name, out, err, tc.want)
		}
	}
}
