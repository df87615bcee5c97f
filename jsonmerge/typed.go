package jsonmerge

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Merge returns a [Func] that merges typed values. It decodes base,
// ours and theirs into three separate values of type T with encoding/json,
// calls f, and encodes the value f returns.
//
// The encoded result is then applied to theirs as a change: whatever f's
// result changes relative to theirs (as decoded into T and encoded again) is
// written into theirs' own JSON. So members of theirs that T does not model
// are kept, at every depth, and so is the exact text of numbers f did not
// change; where f's result and theirs disagree, f's result wins. Arrays that
// keep their length are merged element by element (an element f changed
// keeps its members T does not model), and member names match as
// encoding/json matches them, so a member theirs spells "Title" is the one
// T calls "title" and is never written twice.
//
// An argument that encoding/json cannot decode into T gives an
// [*InvalidJSONError]. An error from f is returned as is, so f may return a
// [*ConflictError] of its own.
func Typed[T any](f func(base, ours, theirs T) (T, error)) Func {
	return func(base, ours, theirs []byte) ([]byte, error) {
		var b, o, t T
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, newInvalidJSONError("base", err)
		}
		if err := json.Unmarshal(ours, &o); err != nil {
			return nil, newInvalidJSONError("ours", err)
		}
		if err := json.Unmarshal(theirs, &t); err != nil {
			return nil, newInvalidJSONError("theirs", err)
		}
		// Encode theirs before f runs: f may modify t in place.
		view, err := encodeValue(t)
		if err != nil {
			return nil, err
		}
		r, err := f(b, o, t)
		if err != nil {
			return nil, err
		}
		res, err := encodeValue(r)
		if err != nil {
			return nil, err
		}
		return ApplyChanges(view, res, theirs)
	}
}

var typedMerge = &mergeConfig{policies: []policyRule{{policy: TakeOurs}}, typed: true}

func encodeValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("jsonmerge: encoding merge value: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// ApplyChanges applies to doc the changes that turn view into changed,
// where view is doc as a narrower model sees it (doc decoded into a Go type
// and encoded again, say) and changed is that view after an edit. It is
// [Typed]'s merge, on bytes: members of doc the view lacks are kept at every
// depth, arrays that keep their length merge element by element, member
// names match as encoding/json matches them, and where changed and doc
// disagree, changed wins.
func ApplyChanges(view, changed, doc []byte) ([]byte, error) {
	return typedMerge.merge(view, changed, doc)
}
