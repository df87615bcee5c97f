package conflict

import "testing"

// TestSoundMerge: what a merge function returns is sent only when it is a
// document that keeps every member neither side changed.
func TestSoundMerge(t *testing.T) {
	base, ours, theirs := `{"a":0,"b":0,"n":{"x":1,"y":1}}`, `{"a":1,"b":0,"n":{"x":1,"y":1}}`, `{"a":0,"b":2,"n":{"x":1,"y":3}}`
	for _, tc := range []struct {
		next string
		want bool
	}{
		{`{"a":1,"b":2,"n":{"x":1,"y":3}}`, true},
		{`{"b":2,"a":1,"n":{"y":3,"x":1}}`, true}, // order is no change
		{`null`, false},
		{`{}`, false},
		{`[1]`, false},
		{`{"a":1,"b":2}`, false}, // n.x, untouched, is gone
		{`{"a":1,"b":2,"n":{"x":9,"y":3}}`, false},      // n.x, untouched, changed
		{`{"a":1,"b":2,"n":{"x":1,"y":1}}`, true},       // a changed member: the merge's call
		{`{"a":1,"b":2,"n":{"x":1,"y":3},"c":1}`, true}, // added: the merge's call
		{`{"a":1`, false},
	} {
		if got := soundMerge([]byte(base), []byte(ours), []byte(theirs), []byte(tc.next)); got != tc.want {
			t.Errorf("soundMerge(..., %s) = %v, want %v", tc.next, got, tc.want)
		}
	}
	// A member one side removed is the merge's to decide.
	if !soundMerge([]byte(`{"a":0,"b":0}`), []byte(`{"a":0}`), []byte(`{"a":0,"b":0}`), []byte(`{"a":0}`)) {
		t.Error("a member ours removed was required")
	}
}

// TestAnswerShows: a write's answer is taken for the state it left only
// when it shows every change the write made to the state it was sent onto.
func TestAnswerShows(t *testing.T) {
	base, sent := `{"a":0,"b":{"x":1},"v":1,"gone":1}`, `{"a":1,"b":{"x":2},"v":1,"n":null}`
	for _, tc := range []struct {
		answer string
		want   bool
	}{
		{`{"a":1,"b":{"x":2},"v":2,"n":null}`, true},        // the server moved its own v
		{`{"v":2,"b":{"x":2},"a":1}`, true},                 // n set to null: shown as absent
		{`{"a":1,"b":{"x":2},"v":2,"n":null,"at":9}`, true}, // a member of the server's own
		{`{"a":0,"b":{"x":1},"v":2,"gone":1}`, false},       // the old state
		{`{"a":1,"b":{"x":1},"v":2}`, false},                // a nested change missing
		{`{"a":1,"b":{"x":2},"v":2,"gone":1}`, false},       // a removed member still there
		{`{"ok":true}`, false},                              // a summary
		{`{"a":1,"b":{"x":2},"v":2,"n":null,"gone":1}`, false},
	} {
		if got := answerShows([]byte(tc.answer), []byte(base), []byte(sent)); got != tc.want {
			t.Errorf("answerShows(%s) = %v, want %v", tc.answer, got, tc.want)
		}
	}
	if answerShows([]byte(sent), nil, []byte(sent)) {
		t.Error("an answer was taken without the state the write was sent onto")
	}
}
