package conflict

import (
	"strconv"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// Helpers for looking at a parsed body (internal/jsonv, the project's one
// JSON model) without failing: each takes a possibly nil value and returns
// the zero value when it is absent or not of the expected type.

// jsonObject returns v when it is an object, else nil.
func jsonObject(v *jsonv.Value) *jsonv.Value {
	if v != nil && v.Kind == jsonv.Object {
		return v
	}
	return nil
}

// jsonArray returns the elements of v when it is an array.
func jsonArray(v *jsonv.Value) []jsonv.Member {
	if v != nil && v.Kind == jsonv.Array {
		return v.Kids
	}
	return nil
}

// jsonString returns a JSON string's value, or a number's exact text.
func jsonString(v *jsonv.Value) string {
	if v == nil {
		return ""
	}
	switch v.Kind {
	case jsonv.String:
		return jsonv.Unquote(v.Raw)
	case jsonv.Number:
		return string(v.Raw)
	}
	return ""
}

// jsonNumber returns a number's exact text.
func jsonNumber(v *jsonv.Value) (string, bool) {
	if v == nil || v.Kind != jsonv.Number {
		return "", false
	}
	return string(v.Raw), true
}

func jsonInt(v *jsonv.Value) int {
	if v == nil || v.Kind != jsonv.Number {
		return 0
	}
	n, err := strconv.Atoi(string(v.Raw))
	if err != nil {
		return 0
	}
	return n
}

// jsonStrings returns the non-empty strings of an array. ok reports that v
// is an array at all, so that an empty list ("no transition is allowed")
// can be told from an absent one ("the server did not say"): the list is
// then empty but not nil.
func jsonStrings(v *jsonv.Value) (list []string, ok bool) {
	if v == nil || v.Kind != jsonv.Array {
		return nil, false
	}
	list = make([]string, 0, len(v.Kids))
	for i := range v.Kids {
		if s := jsonString(&v.Kids[i].Value); s != "" {
			list = append(list, s)
		}
	}
	return list, true
}

// first returns the first of keys present in object m with a non-empty
// string value.
func first(m *jsonv.Value, keys ...string) string {
	for _, k := range keys {
		if s := jsonString(m.Get(k)); s != "" {
			return s
		}
	}
	return ""
}

// squash lowercases s and drops everything but letters and digits, so that
// "VersionConflict", "version_conflict" and "version-conflict" compare equal.
func squash(s string) string {
	var buf [64]byte
	return string(appendSquash(buf[:0], s))
}

// appendSquash appends the squashed form of s (see squash) to dst.
func appendSquash(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			dst = append(dst, c)
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		}
	}
	return dst
}

// asciiLower lowercases ASCII letters only, so that indexes into the result
// are indexes into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
