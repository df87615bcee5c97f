package preset

import (
	"bytes"
	"encoding/json"
)

// decode decodes JSON keeping numbers as written.
func decode(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// contains reports whether every member of want is in have with the same
// value, recursively in objects (have may hold more: the fields a server
// fills in or defaults); arrays and other values must be equal, elements
// compared the same way.
func contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !contains(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	case json.Number:
		h, ok := have.(json.Number)
		if !ok {
			return false
		}
		if h == w {
			return true
		}
		hf, err1 := h.Float64()
		wf, err2 := w.Float64()
		return err1 == nil && err2 == nil && hf == wf
	default:
		return have == want
	}
}

// sentIsSubset is an AdoptIf: the existing resource holds everything the
// create sent (a JSON object with at least one member), and maybe more.
func sentIsSubset(sent, existing []byte) bool {
	w, ok := decode(sent)
	if m, isObj := w.(map[string]any); !ok || !isObj || len(m) == 0 {
		return false
	}
	h, ok := decode(existing)
	return ok && contains(h, w)
}
