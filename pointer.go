package conflict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// getPointer returns the value at an RFC 6901 JSON Pointer in doc.
func getPointer(doc []byte, ptr string) (json.RawMessage, bool) {
	segs, err := splitPointer(ptr)
	if err != nil {
		return nil, false
	}
	cur := json.RawMessage(bytes.TrimSpace(doc))
	for _, seg := range segs {
		switch {
		case len(cur) > 0 && cur[0] == '{':
			m := jsonObject(cur)
			v, ok := m[seg]
			if !ok {
				return nil, false
			}
			cur = bytes.TrimSpace(v)
		case len(cur) > 0 && cur[0] == '[':
			a := jsonArray(cur)
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(a) {
				return nil, false
			}
			cur = bytes.TrimSpace(a[i])
		default:
			return nil, false
		}
	}
	if len(cur) == 0 || !json.Valid(cur) {
		return nil, false
	}
	return cur, true
}

// setPointer sets the member at ptr, a pointer through objects only, to
// val, keeping everything else of doc byte for byte (it applies an RFC 7396
// merge patch).
func setPointer(doc []byte, ptr string, val string) ([]byte, error) {
	segs, err := splitPointer(ptr)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("conflict: version field %q: empty pointer", ptr)
	}
	patch := val
	for i := len(segs) - 1; i >= 0; i-- {
		name, _ := json.Marshal(segs[i])
		patch = "{" + string(name) + ":" + patch + "}"
	}
	return MergePatch(doc, []byte(patch))
}

// dropPointer removes the member at ptr from doc, or returns doc unchanged
// if it cannot.
func dropPointer(doc []byte, ptr string) []byte {
	out, err := setPointer(doc, ptr, "null")
	if err != nil {
		return doc
	}
	return out
}

func splitPointer(ptr string) ([]string, error) {
	if ptr == "" {
		return nil, nil
	}
	if ptr[0] != '/' {
		return nil, fmt.Errorf("conflict: JSON pointer %q does not start with /", ptr)
	}
	segs := strings.Split(ptr[1:], "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs, nil
}

// jsonEqual reports whether two JSON values are equal, as the merge
// compares them: objects regardless of member order, numbers by value.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, err := jsonv.Parse(a)
	if err != nil {
		return false
	}
	vb, err := jsonv.Parse(b)
	if err != nil {
		return false
	}
	return jsonv.Equal(&va, &vb, false)
}
