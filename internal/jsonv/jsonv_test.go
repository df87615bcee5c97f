package jsonv

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseCompact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`1`, `1`},
		{` -0.0e+5 `, `-0.0e+5`},
		{"\t\n\r[ ]", `[]`},
		{`{ }`, `{}`},
		{`{"a" : [1, 2 ,{"b":null}], "c":"x y"}`, `{"a":[1,2,{"b":null}],"c":"x y"}`},
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`{"a":1,"\u0061":2}`, `{"a":2}`},
		{`"<\u003c>"`, `"<\u003c>"`},
		{`12345678901234567890`, `12345678901234567890`},
		{`1e400`, `1e400`},
		{"\"\xff\"", "\"\xff\""},
		{`[true,false,null]`, `[true,false,null]`},
	} {
		v, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := string(AppendCompact(nil, &v)); got != tc.want {
			t.Errorf("AppendCompact(Parse(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseCompactFlag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{"a":[1,2]}`:    true,
		`{"a":[1, 2]}`:   false,
		`{"a":1,"a":2}`:  false,
		`{"a":" x "}`:    true,
		`[{"a":1},[ ]]`:  false,
		`[{"a":1},[]]`:   true,
		` {"a":1} `:      true,
		`{"a":{"b":1 }}`: false,
	} {
		v, err := Parse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if v.Compact != want {
			t.Errorf("Parse(%q).Compact = %v, want %v", in, v.Compact, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:1}`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`,
		`tru`, `nul`, `"abc`, `"\x"`, `"\u12"`, "\"a\x1fb\"", `[1 2]`, `1 2`, `+1`, `NaN`,
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
	} {
		_, err := Parse([]byte(in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.20q) = %v, want *SyntaxError", in, err)
			continue
		}
		if json.Valid([]byte(in)) {
			t.Errorf("Parse(%.20q) failed but json.Valid accepts it", in)
		}
		if se.Offset < 0 || se.Offset > int64(len(in)) {
			t.Errorf("Parse(%.20q): offset %d out of range", in, se.Offset)
		}
	}
	if _, err := Parse([]byte(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
}

func TestUnquote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"plain"`:              "plain",
		`"a\"b\\c\/d"`:         `a"b\c/d`,
		`"\b\f\n\r\t"`:         "\b\f\n\r\t",
		`"\u00e9\u20AC"`:       "é€",
		`"\ud83d\ude00"`:       "😀",
		`"\ud83d"`:             "\ufffd",
		`"\ud83dx"`:            "\ufffdx",
		`"\ude00\ud83d\ude00"`: "\ufffd😀",
		`"\ud83d\u0041"`:       "\ufffdA",
		"\"a\xffb\"":           "a\ufffdb",
		"\"é\"":                "é",
	} {
		if got := Unquote([]byte(in)); got != want {
			t.Errorf("Unquote(%s) = %q, want %q", in, got, want)
		}
		var std string
		if err := json.Unmarshal([]byte(in), &std); err != nil || std != want {
			t.Errorf("encoding/json decodes %s to %q, %v; test wants %q", in, std, err, want)
		}
	}
}

func TestNumberKey(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"0", "-0", "0.0", "0e10", "-0.000E-3"},
		{"1", "1.0", "1e0", "10e-1", "0.1e1", "1.000E+0"},
		{"100", "1e2", "1E+2", "100.00", "0.001e5"},
		{"0.1", "1e-1", "10E-2"},
		{"-2.5", "-25e-1", "-0.25e1"},
		{"12345678901234567890", "1.2345678901234567890e19"},
		{"1e400", "10e399", "0.1e401"},
		{"1e99999999999999999999", "10e99999999999999999998"},
	}
	for _, group := range same {
		for _, n := range group {
			if NumberKey([]byte(n)) != NumberKey([]byte(group[0])) {
				t.Errorf("NumberKey(%s) = %s, NumberKey(%s) = %s; want equal", n, NumberKey([]byte(n)), group[0], NumberKey([]byte(group[0])))
			}
		}
	}
	for i, a := range same {
		for _, b := range same[i+1:] {
			if NumberKey([]byte(a[0])) == NumberKey([]byte(b[0])) {
				t.Errorf("NumberKey(%s) == NumberKey(%s)", a[0], b[0])
			}
		}
	}
	for _, pair := range [][2]string{
		{"12345678901234567890", "12345678901234567891"},
		{"1", "-1"},
		{"1e400", "1e401"},
		{"0.1", "0.10000000000000001"},
	} {
		if NumberKey([]byte(pair[0])) == NumberKey([]byte(pair[1])) {
			t.Errorf("NumberKey(%s) == NumberKey(%s)", pair[0], pair[1])
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b         string
		want, wantMP bool
	}{
		{`{"a":1,"b":[1,"x"]}`, `{ "b" : [1.0,"\u0078"], "a" : 1 }`, true, true},
		{`{"a":1}`, `{"a":1,"b":null}`, false, true},
		{`{"a":null}`, `{}`, false, true},
		{`[null]`, `[]`, false, false},
		{`{"a":1}`, `{"b":1}`, false, false},
		{`"a"`, `"b"`, false, false},
		{`"\u00e9"`, `"é"`, true, true},
		{`true`, `false`, false, false},
		{`null`, `null`, true, true},
		{`[1,2]`, `[2,1]`, false, false},
		{`1`, `"1"`, false, false},
	} {
		a, err := Parse([]byte(tc.a))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse([]byte(tc.b))
		if err != nil {
			t.Fatal(err)
		}
		if got := Equal(&a, &b, false); got != tc.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Equal(&a, &b, true); got != tc.wantMP {
			t.Errorf("Equal(%s, %s, nullIsAbsent) = %v, want %v", tc.a, tc.b, got, tc.wantMP)
		}
	}
	if !Equal(nil, nil, false) {
		t.Error("Equal(nil, nil) = false")
	}
	v, _ := Parse([]byte(`1`))
	if Equal(&v, nil, false) || Equal(nil, &v, false) {
		t.Error("Equal(v, nil) = true")
	}
}

func TestIndexLookup(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < 40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k`)
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`":1`)
	}
	b.WriteByte('}')
	v, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(&v)
	for i := 0; i < 40; i++ {
		key := "k" + strings.Repeat("x", i)
		for _, hint := range []int{i, 0, -1, 100} {
			if m := x.Lookup(key, hint); m == nil || m.Key != key {
				t.Fatalf("Lookup(%q, %d) = %v", key, hint, m)
			}
		}
	}
	if x.Lookup("missing", 0) != nil {
		t.Error("Lookup(missing) != nil")
	}
	var empty Index
	if empty.Lookup("a", 0) != nil {
		t.Error("zero Index found a member")
	}
}
