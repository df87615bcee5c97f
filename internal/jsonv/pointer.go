package jsonv

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParsePointer splits an RFC 6901 JSON Pointer into its unescaped reference
// tokens. "" is the whole document and gives no tokens; any other pointer
// must start with "/", and "~" must be followed by "0" or "1".
func ParsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, errors.New(`must be empty or start with "/"`)
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if !strings.Contains(s, "~") {
			continue
		}
		for j := 0; j < len(s); j++ {
			if s[j] == '~' && (j+1 == len(s) || (s[j+1] != '0' && s[j+1] != '1')) {
				return nil, errors.New(`"~" must be followed by "0" or "1"`)
			}
		}
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs, nil
}

// FormatPointer joins unescaped segments into a JSON Pointer.
func FormatPointer(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if !strings.ContainsAny(s, "~/") {
			b.WriteString(s)
			continue
		}
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '~':
				b.WriteString("~0")
			case '/':
				b.WriteString("~1")
			default:
				b.WriteByte(s[i])
			}
		}
	}
	return b.String()
}

// At returns the value at the pointer segs in v, or nil. An array element is
// named by its decimal index, without leading zeros.
func (v *Value) At(segs []string) *Value {
	for _, s := range segs {
		switch v.Kind {
		case Object:
			v = v.Get(s)
		case Array:
			i, ok := arrayIndex(s)
			if !ok || i >= len(v.Kids) {
				return nil
			}
			v = &v.Kids[i].Value
		default:
			return nil
		}
		if v == nil {
			return nil
		}
	}
	return v
}

func arrayIndex(s string) (int, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0
}

// ErrPointer is returned by Set for a pointer that cannot be set in the
// document: a missing array element, or a path through a value that is
// neither an object nor an array.
var ErrPointer = errors.New("pointer does not name a settable location")

// Set returns a copy of doc with the value at the pointer segs replaced by
// val, which must be valid JSON text, keeping every other byte of doc as it
// was. A missing final object member is added (after the object's last
// member); missing intermediate objects are created. Through arrays, the
// element must exist. The whole document (no segments) cannot be set.
func Set(doc []byte, segs []string, val []byte) ([]byte, error) {
	if len(segs) == 0 {
		return nil, ErrPointer
	}
	root, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	v := &root
	for i, s := range segs {
		switch v.Kind {
		case Object:
			next := v.Get(s)
			if next == nil {
				// Add the member, with any missing objects below it.
				var add []byte
				if len(v.Kids) > 0 {
					add = append(add, ',')
				}
				add = appendMember(add, segs[i:], val)
				at := offset(doc, v.Raw) + len(v.Raw) - 1 // the closing brace
				return splice(doc, at, at, add), nil
			}
			v = next
		case Array:
			n, ok := arrayIndex(s)
			if !ok || n >= len(v.Kids) {
				return nil, ErrPointer
			}
			v = &v.Kids[n].Value
		default:
			return nil, ErrPointer
		}
	}
	at := offset(doc, v.Raw)
	return splice(doc, at, at+len(v.Raw), val), nil
}

// appendMember appends "name":val, nesting objects for the remaining
// segments.
func appendMember(out []byte, segs []string, val []byte) []byte {
	out = AppendString(out, segs[0])
	out = append(out, ':')
	for _, s := range segs[1:] {
		out = append(out, '{')
		out = AppendString(out, s)
		out = append(out, ':')
	}
	out = append(out, val...)
	for range segs[1:] {
		out = append(out, '}')
	}
	return out
}

// offset returns where sub, a slice of doc (doc[i:j] for some i, j, as
// Parse makes every Raw), starts in doc.
func offset(doc, sub []byte) int { return cap(doc) - cap(sub) }

func splice(doc []byte, from, to int, val []byte) []byte {
	out := make([]byte, 0, len(doc)-(to-from)+len(val))
	out = append(out, doc[:from]...)
	out = append(out, val...)
	return append(out, doc[to:]...)
}

// AppendString appends s as a JSON string, escaping what RFC 8259 requires
// (and no HTML characters). Invalid UTF-8 is written as U+FFFD.
func AppendString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	return append(out, '"')
}
