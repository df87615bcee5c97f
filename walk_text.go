package conflict

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// isEcho reports whether s only repeats the status ("Conflict",
// "Bad Request", "409", "UNPROCESSABLE_ENTITY"): a web framework's default
// body, not a reason.
func (w *walker) isEcho(s string) bool {
	if len(s) > 40 {
		return false
	}
	var buf [48]byte
	sq := appendSquash(buf[:0], s)
	return string(sq) == w.echo || string(sq) == strconv.Itoa(w.status)
}

// addCode records a candidate code and what it says; it returns the
// candidate, or nil when none was recorded.
func (w *walker) addCode(s string, depth int, field string) *cand {
	if s == "" || len(w.ev.codes) >= walkMaxCands {
		return nil
	}
	v := kindOfCode(codeKey(w.code[:0], s), w.req)
	if v.idem {
		w.ev.idem = true
	}
	w.ev.codes = append(w.ev.codes, cand{text: s, v: v, field: field, depth: depth})
	return &w.ev.codes[len(w.ev.codes)-1]
}

// message records a human-readable message and what its phrases say.
func (w *walker) message(s string, depth int, field string, rank int8) {
	if s == "" || len(w.ev.msgs) >= walkMaxCands {
		return
	}
	c := cand{text: s, field: field, depth: depth, rank: rank}
	c.v = w.phrases(s)
	if c.v.kind == Unknown && !c.v.inProgress && strings.IndexByte(s, ' ') > 0 && isShort(s) {
		// A short title is often a code in words: "Member Exists",
		// "Stale Object Error", "Duplicate Name Exists Error". (A single
		// word is read as a code only where a code belongs: see scalar.)
		if v := kindOfCode(codeKey(w.code[:0], s), nil); v.strength >= verdictPattern {
			c.v, c.short = v, true
		}
	}
	w.ev.msgs = append(w.ev.msgs, c)
}

func (w *walker) phrases(s string) verdict {
	if len(s) > walkMaxText {
		s = s[:walkMaxText]
	}
	w.lower = append(w.lower[:0], s...)
	for i, c := range w.lower {
		if c >= 'A' && c <= 'Z' {
			w.lower[i] = c + 'a' - 'A'
		}
	}
	return phraseVerdict(w.lower)
}

// isShort reports whether s is a title of at most four words.
func isShort(s string) bool {
	if len(s) > 48 {
		return false
	}
	return strings.Count(strings.TrimSpace(s), " ") <= 3 && !strings.ContainsAny(strings.TrimRight(s, ". "), ".:;,!?")
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// msgRank orders message keys: message before detail and description,
// before titles and summaries, before the rest.
func msgRank(key string) int8 {
	var buf [32]byte
	sq := appendSquash(buf[:0], key)
	switch {
	case bytes.Contains(sq, []byte("message")), bytes.HasSuffix(sq, []byte("msg")):
		return 0
	case bytes.Contains(sq, []byte("detail")), bytes.Contains(sq, []byte("description")):
		return 1
	case bytes.Equal(sq, []byte("title")), bytes.Contains(sq, []byte("summary")):
		return 2
	}
	return 3
}

// fieldName reads a field name: a string, the last element of a path
// array (["user", "email"]), or the last segment of a JSON Pointer
// ("/data/attributes/email") or JSONPath ("$.email"). A URL path (Spring's
// "path":"/api/users") is not a field.
func fieldName(v *jsonv.Value) string {
	if a := jsonArray(v); len(a) > 0 {
		v = &a[len(a)-1].Value
	}
	s := jsonString(v)
	switch {
	case s == "":
		return ""
	case strings.HasPrefix(s, "$."):
		return s[2:]
	case strings.HasPrefix(s, "/"):
		if strings.Count(s, "/") > 1 && strings.Contains(s, "/attributes/") {
			return s[strings.LastIndexByte(s, '/')+1:]
		}
		return ""
	}
	if strings.IndexFunc(s, isSpace) >= 0 || len(s) > 64 {
		return ""
	}
	return s
}

// scanText reads a body that is not JSON (text/plain, HTML, XML) as one
// message, bounded.
func (w *walker) scanText(b []byte) {
	if len(b) > textMaxScan {
		b = b[:textMaxScan]
	}
	w.message(string(b), 1, "", 3)
}

// idInText finds the id of an existing resource quoted in a message:
// "Contact already exists. Existing ID: 6001", "duplicates value on record
// with id: 0035400000hDwBh".
func idInText(msg string) string {
	lower := asciiLower(msg)
	for _, marker := range []string{"existing id", "existing resource id", "with id"} {
		i := strings.Index(lower, marker)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(msg[i+len(marker):], ":= \"'")
		end := 0
		for end < len(rest) && isIDByte(rest[end]) {
			end++
		}
		if id := strings.TrimRight(rest[:end], ".-"); id != "" {
			return id
		}
	}
	return ""
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}
