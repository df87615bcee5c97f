package conflict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// jsonEqual reports whether two JSON values are equal: objects regardless
// of key order, numbers by their exact text.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var va, vb any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return equalValues(va, vb)
}

func equalValues(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
