package conflicttest

import (
	"net/http/httptest"
	"testing"
)

// TestMergePatch runs the RFC 7396 Appendix A examples whose patch is an
// object (the Server accepts only object patches).
func TestMergePatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{`{"n":12345678901234567890}`, `{"m":1.10}`, `{"m":1.10,"n":12345678901234567890}`},
	} {
		target, _ := decodeObject([]byte(tc.target))
		patch, _ := decodeObject([]byte(tc.patch))
		before := string(marshal(target))
		got := string(marshal(mergePatch(target, patch)))
		if got != tc.want {
			t.Errorf("mergePatch(%s, %s) = %s, want %s", tc.target, tc.patch, got, tc.want)
		}
		if after := string(marshal(target)); after != before {
			t.Errorf("mergePatch modified its target: %s became %s", before, after)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`abc`, "abc", true},
		{` abc `, "abc", true},
		{`"abc"`, "abc", true},
		{`"a\"b\\c"`, `a"b\c`, true},
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{``, "", false},
		{`""`, "", false},
		{`"abc`, "", false},
		{`"a"b"`, "", false},
		{`"a\x"`, "", false},
		{`a b`, "", false},
		{`a,b`, "", false},
		{"\"a\x01\"", "", false},
	} {
		got, ok := parseKey([]string{tc.in})
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseKey(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := parseKey([]string{"a", "b"}); ok {
		t.Error("two header lines parsed as one key")
	}
}

func TestParseTags(t *testing.T) {
	t.Parallel()
	tags, star := parseTags([]string{`"1", W/"2"`, `"3" , bad, "x"y"`})
	if star || len(tags) != 3 {
		t.Fatalf("parseTags = %v, %v", tags, star)
	}
	if !strongMatch(tags, 1) || strongMatch(tags, 2) || !strongMatch(tags, 3) || strongMatch(tags, 4) {
		t.Error("strong comparison wrong")
	}
	if !weakMatch(tags, 2) {
		t.Error("weak comparison should match W/\"2\"")
	}
	if _, star := parseTags([]string{"*"}); !star {
		t.Error("* not recognised")
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/users?x=1", nil)
	a := fingerprint(r, []byte(`{"a":1,"b":[1,2]}`))
	if b := fingerprint(r, []byte(" {\"b\": [1, 2],\n \"a\": 1} ")); a != b {
		t.Errorf("canonical JSON differs: %s vs %s", a, b)
	}
	if b := fingerprint(r, []byte(`{"a":1.0,"b":[1,2]}`)); a == b {
		t.Error("1 and 1.0 have the same fingerprint; numbers must stay as written")
	}
	if b := fingerprint(httptest.NewRequest("POST", "/users", nil), []byte(`{"a":1,"b":[1,2]}`)); a == b {
		t.Error("the query is not part of the fingerprint")
	}
	if fingerprint(r, []byte("not json")) == fingerprint(r, []byte("not  json")) {
		t.Error("non-JSON bodies must be compared as raw bytes")
	}
}

func TestClamp(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]float64{-1: 0, 0: 0, 0.25: 0.25, 1: 1, 7: 1} {
		if got := clamp(in); got != want {
			t.Errorf("clamp(%v) = %v, want %v", in, got, want)
		}
	}
}
