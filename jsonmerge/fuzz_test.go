package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// The merges every fuzz input goes through.
var fuzzMerges = []struct {
	name  string
	merge Func
	// never reports a conflict
	total bool
	// a null member means "absent", so results compare differently
	mergePatch bool
}{
	{name: "default", merge: Merge},
	{name: "keyed", merge: New(KeyedArray("", "id"), KeyedArray("/*", "id"), KeyedArray("/*/*/*", "id"))},
	{name: "ours", merge: New(PathPolicy("", TakeOurs), KeyedArray("/*", "id")), total: true},
	{name: "theirs", merge: New(PathPolicy("", TakeTheirs)), total: true},
	{name: "merge patch", merge: New(MergePatchMode(), KeyedArray("/*", "id")), mergePatch: true},
}

func FuzzMergeJSON(f *testing.F) {
	for _, tc := range rfc7396Cases {
		f.Add([]byte(tc.doc), []byte(tc.want), []byte(tc.patch))
		f.Add([]byte(tc.doc), []byte(tc.patch), []byte(tc.want))
	}
	f.Add([]byte(`{"n":12345678901234567890,"d":0.1,"e":1e400}`),
		[]byte(`{"n":12345678901234567891,"d":0.1,"e":1e400}`),
		[]byte(`{"n":12345678901234567890,"d":0.10,"e":1E400,"x":null}`))
	f.Add([]byte(`{"items":[{"id":1,"v":1},{"id":2}]}`),
		[]byte(`{"items":[{"id":1,"v":2},{"id":3}]}`),
		[]byte(`{"items":[{"id":2,"w":1},{"id":1,"v":1}]}`))

	f.Fuzz(func(t *testing.T, base, ours, theirs []byte) {
		valid := json.Valid(base) && json.Valid(ours) && json.Valid(theirs)
		for _, m := range fuzzMerges {
			out, err := m.merge(base, ours, theirs)
			checkFuzzResult(t, m.name, out, err, valid, m.total)
			if !valid || m.mergePatch {
				continue
			}
			// base == theirs: the result is ours.
			if got, err := m.merge(base, ours, base); err != nil || !fuzzSame(t, got, ours) {
				t.Errorf("%s: merge(base, ours, base) = %s, %v; want %s", m.name, got, err, ours)
			}
			// base == ours: the result is theirs.
			if got, err := m.merge(base, base, theirs); err != nil || !fuzzSame(t, got, theirs) {
				t.Errorf("%s: merge(base, base, theirs) = %s, %v; want %s", m.name, got, err, theirs)
			}
			// The same, with equal documents spelled differently, so
			// the byte-equality shortcuts do not apply.
			var spaced bytes.Buffer
			if err := json.Indent(&spaced, base, "", " "); err != nil {
				t.Fatal(err)
			}
			if got, err := m.merge(base, ours, spaced.Bytes()); err != nil || !fuzzSame(t, got, ours) {
				t.Errorf("%s: merge(base, ours, indented base) = %s, %v; want %s", m.name, got, err, ours)
			}
			if got, err := m.merge(base, spaced.Bytes(), theirs); err != nil || !fuzzSame(t, got, theirs) {
				t.Errorf("%s: merge(base, indented base, theirs) = %s, %v; want %s", m.name, got, err, theirs)
			}
			// ours == theirs: no conflict, the result is that document.
			if got, err := m.merge(base, ours, ours); err != nil || !fuzzSame(t, got, ours) {
				t.Errorf("%s: merge(base, ours, ours) = %s, %v; want %s", m.name, got, err, ours)
			}
		}
	})
}

func checkFuzzResult(t *testing.T, name string, out []byte, err error, valid, total bool) {
	t.Helper()
	var ije *InvalidJSONError
	var mce *ConflictError
	switch {
	case err == nil:
		if !valid {
			t.Fatalf("%s: no error for invalid input, result %q", name, out)
		}
		if !json.Valid(out) {
			t.Fatalf("%s: invalid JSON result %q", name, out)
		}
		if c := compactFuzz(out); !bytes.Equal(c, out) {
			t.Fatalf("%s: result %q is not compact (%q)", name, out, c)
		}
	case errors.As(err, &ije):
		if valid {
			t.Fatalf("%s: %v for valid input", name, err)
		}
	case errors.As(err, &mce):
		if !valid || total {
			t.Fatalf("%s: unexpected %v", name, err)
		}
		if len(mce.Conflicts) == 0 {
			t.Fatalf("%s: empty conflict list", name)
		}
		for _, c := range mce.Conflicts {
			for _, v := range []json.RawMessage{c.Base, c.Ours, c.Theirs} {
				if v != nil && !json.Valid(v) {
					t.Fatalf("%s: conflict at %q holds invalid JSON %q", name, c.Path, v)
				}
			}
		}
	default:
		t.Fatalf("%s: unexpected error type %T: %v", name, err, err)
	}
}

func compactFuzz(data []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil
	}
	return buf.Bytes()
}

// fuzzSame reports whether a and b hold the same JSON value, comparing
// numbers by decimal value and strings as encoding/json decodes them.
func fuzzSame(t *testing.T, a, b []byte) bool {
	t.Helper()
	return sameDecoded(mergeDecode(t, a), mergeDecode(t, b))
}

func sameDecoded(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !sameDecoded(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameDecoded(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		return ok && jsonv.NumberKey([]byte(a)) == jsonv.NumberKey([]byte(b))
	}
	return a == b
}

func FuzzMergePatch(f *testing.F) {
	for _, tc := range rfc7396Cases {
		f.Add([]byte(tc.doc), []byte(tc.patch))
	}
	f.Add([]byte(`{"n":12345678901234567890,"o":{"a":[1,{"b":null}]}}`), []byte(`{"o":{"a":null,"c":{"d":null}},"e":1e400}`))

	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		valid := json.Valid(doc) && json.Valid(patch)
		out, err := ApplyPatch(doc, patch)
		checkFuzzResult(t, "ApplyPatch", out, err, valid, true)
		if !valid {
			return
		}
		p, _ := jsonv.Parse(patch)
		if p.Kind == jsonv.Object {
			// Idempotence: applying the same patch twice equals once.
			again, err := ApplyPatch(out, patch)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("ApplyPatch twice = %s, %v; once = %s", again, err, out)
			}
		}

		// CreatePatch round trip, where a merge patch can express the
		// change (no null members in modified).
		diff, err := CreatePatch(doc, patch)
		checkFuzzResult(t, "CreatePatch", diff, err, valid, true)
		if !hasNullMember(&p) {
			got, err := ApplyPatch(doc, diff)
			if err != nil || !fuzzSame(t, got, patch) {
				t.Errorf("ApplyPatch(doc, CreatePatch(doc, m) = %s) = %s, %v; want %s", diff, got, err, patch)
			}
		}

		// Re-basing onto an unchanged document keeps the patch.
		rebased, err := RebasePatch(doc, patch, doc)
		checkFuzzResult(t, "RebasePatch", rebased, err, valid, true)
		if !bytes.Equal(rebased, compactFuzz(patch)) && !fuzzSame(t, rebased, patch) {
			t.Errorf("RebasePatch(doc, patch, doc) = %s, want the patch", rebased)
		}
		// Re-basing onto a document that already has the patch applied
		// never conflicts and changes nothing there.
		rebased, err = RebasePatch(doc, patch, out)
		checkFuzzResult(t, "RebasePatch onto patched", rebased, err, valid, true)
		if got, err := ApplyPatch(out, rebased); err != nil || !fuzzSame(t, got, out) {
			t.Errorf("ApplyPatch(patched, rebased %s) = %s, %v; want %s", rebased, got, err, out)
		}
	})
}

func hasNullMember(v *jsonv.Value) bool {
	for i := range v.Kids {
		k := &v.Kids[i].Value
		if (v.Kind == jsonv.Object && k.Kind == jsonv.Null) || hasNullMember(k) {
			return true
		}
	}
	return false
}
