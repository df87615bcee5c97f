package jsonv

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

// fuzzSeeds are inputs where a JSON parser is easy to get wrong.
var fuzzSeeds = []string{
	// Escapes and surrogates.
	`"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u007f\u0080\uffff"`, `"\u00e9\u00E9"`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83d\u0041"`, `"\ud83dx"`, `"\ud83d\\ude00"`,
	`"\ud83d\ud83d\ude00"`, `"\udbff\udfff"`, `"\uD800\uDC00"`, `"\u12"`, `"\x41"`, `"\'"`, `"\`,
	`{"\u0061":1,"a":2}`, `{"\ud800":1,"\udfff":2}`,
	// Raw bytes: invalid UTF-8, control characters, U+2028, a BOM.
	"\"\xff\xfe\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"caf\xc3\xa9\"",
	"\"a\x00b\"", "\"\x1f\"", "\"\x7f\"", "\"\u2028\u2029\"", "\xef\xbb\xbf{}", "{\"\xff\":1,\"\xfe\":2}",
	// Numbers.
	`0`, `-0`, `-0.0e-0`, `01`, `-`, `1.`, `.1`, `1e`, `1e+`, `+1`, `1E+2`, `0.1e-2`, `-1.5E10`,
	`12345678901234567890123456789`, `1e400`, `-1e-400`, `1e0000000000000000000000001`,
	`[1, 1.0, 10e-1, 0.1e1, 100e-2, 1.00]`, `[0, -0, 0e5, -0.0e-7]`, `[1e2, 100, 1E+2, 1000e-1]`,
	`[123456789012345678901234567890, 1.23456789012345678901234567890e29]`, `1e-0000000000000000000000000005`,
	// Literals and garbage.
	`true`, `false`, `null`, `tru`, `nul`, `True`, `nulll`, `[]]`, `{}}`, `[,]`, `[1,]`, `{"a":1,}`,
	`{"a"}`, `{"a":}`, `{1:2}`, `{'a':1}`, `[1 2]`, `"a" "b"`, ``, ` `, `/* */ 1`, `NaN`, `Infinity`,
	// Whitespace.
	" \t\r\n[ 1 ,\t2 ,\r\n{ \"a\" : [ ] } ] \n", "[\v1]", "[\f1]", "\u00a01", `{"a" :1}`,
	// Duplicates.
	`{"a":1,"b":2,"a":3}`, `{"a":{"x":1},"a":{"y":2}}`, `{"a":1,"a":1}`, `[{"a":1,"a":2},{"a":2}]`,
	`{"a":null,"b":1}`, `[{"a":null,"b":1},{"b":1}]`, `[{"a":1,"b":2},{"b":2,"a":1}]`,
	`[["a",1],["\u0061",1.0],["b",1]]`,
	`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k3":33}`,
	// Nesting.
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50),
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	strings.Repeat("[", 20),
}

// FuzzParse checks Parse against encoding/json: it accepts exactly what
// json.Valid accepts; AppendCompact gives json.Compact's output (or, where
// keys repeat, the same value as encoding/json's decoding, which also keeps
// the last); Unquote and member keys are what json.Unmarshal gives for the
// string; Get finds what json.Unmarshal puts in a map; NumberKey and Equal
// agree with exact decimal arithmetic.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		valid := json.Valid(data)
		if (err == nil) != valid {
			t.Fatalf("Parse(%q) error = %v, json.Valid = %v", data, err, valid)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(data)) {
				t.Fatalf("Parse(%q) error %#v: not a SyntaxError within the input", data, err)
			}
			return
		}

		// Compaction.
		got := AppendCompact(nil, &v)
		var want bytes.Buffer
		if err := json.Compact(&want, data); err != nil {
			t.Fatalf("json.Compact(%q): %v", data, err)
		}
		dups := hasDuplicateKeys(data)
		if !bytes.Equal(got, want.Bytes()) && (!dups || !sameDecoded(got, data)) {
			t.Fatalf("AppendCompact(Parse(%q)) = %q; json.Compact gives %q", data, got, want.Bytes())
		}
		if v.Compact && (dups || !bytes.Equal(v.Raw, want.Bytes())) {
			t.Fatalf("Parse(%q).Compact is set, but json.Compact gives %q (duplicate keys: %v)", data, want.Bytes(), dups)
		}
		again, err := Parse(got)
		if err != nil || !again.Compact || !bytes.Equal(AppendCompact(nil, &again), got) || !Equal(&v, &again, false) {
			t.Fatalf("compact form %q of %q: Parse error %v, Compact %v, not a fixed point or not Equal", got, data, err, again.Compact)
		}

		c := checker{t: t, budget: 2000}
		c.check(&v, 0)
		c.numbers()
	})
}

// checker walks a parsed tree comparing each value with encoding/json.
type checker struct {
	t      *testing.T
	budget int      // values left to check; deep or large inputs get a sample
	nums   [][]byte // number literals seen
}

func (c *checker) check(v *Value, depth int) {
	t := c.t
	if c.budget--; c.budget < 0 || depth > 64 {
		return
	}
	if !json.Valid(v.Raw) {
		t.Fatalf("Raw %q is not valid JSON", v.Raw)
	}
	if kindOf(v.Raw[0]) != v.Kind {
		t.Fatalf("Raw %q has kind %d", v.Raw, v.Kind)
	}
	switch v.Kind {
	case String:
		var s string
		if err := json.Unmarshal(v.Raw, &s); err != nil || Unquote(v.Raw) != s {
			t.Fatalf("Unquote(%q) = %q; json.Unmarshal gives %q, %v", v.Raw, Unquote(v.Raw), s, err)
		}
	case Number:
		if len(c.nums) < 16 {
			c.nums = append(c.nums, v.Raw)
		}
	case Array:
		var elems []json.RawMessage
		if err := json.Unmarshal(v.Raw, &elems); err != nil || len(elems) != len(v.Kids) {
			t.Fatalf("%q: %d elements; json.Unmarshal gives %d, %v", v.Raw, len(v.Kids), len(elems), err)
		}
		for i := range v.Kids {
			if !bytes.Equal(v.Kids[i].Value.Raw, elems[i]) {
				t.Fatalf("%q: element %d is %q; json.Unmarshal gives %q", v.Raw, i, v.Kids[i].Value.Raw, elems[i])
			}
		}
		c.pairs(v)
	case Object:
		var members map[string]json.RawMessage
		if err := json.Unmarshal(v.Raw, &members); err != nil || len(members) != len(v.Kids) {
			t.Fatalf("%q: %d members; json.Unmarshal gives %d, %v", v.Raw, len(v.Kids), len(members), err)
		}
		x := NewIndex(v)
		for i := range v.Kids {
			m := &v.Kids[i]
			var key string
			if err := json.Unmarshal(m.KeyRaw, &key); err != nil || key != m.Key {
				t.Fatalf("%q: key %q unquoted as %q; json.Unmarshal gives %q, %v", v.Raw, m.KeyRaw, m.Key, key, err)
			}
			raw, ok := members[m.Key]
			if g := v.Get(m.Key); !ok || g == nil || !bytes.Equal(g.Raw, raw) || !bytes.Equal(m.Value.Raw, raw) {
				t.Fatalf("%q: member %q is %q; json.Unmarshal gives %q", v.Raw, m.Key, m.Value.Raw, raw)
			}
			if x.Lookup(m.Key, i) != m || x.Lookup(m.Key, -1) != m || x.Lookup(m.Key, len(v.Kids)-1-i) != m {
				t.Fatalf("%q: Index.Lookup(%q) does not find member %d", v.Raw, m.Key, i)
			}
		}
		if v.Get("\x00absent") != nil && members["\x00absent"] == nil {
			t.Fatalf("%q: Get finds an absent key", v.Raw)
		}
		c.pairs(v)
	}
	for i := range v.Kids {
		c.check(&v.Kids[i].Value, depth+1)
	}
}

// pairs compares Equal on the first few kids of v, pairwise, with a
// comparison of their encoding/json decodings in exact arithmetic.
func (c *checker) pairs(v *Value) {
	n := min(len(v.Kids), 6)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a, b := &v.Kids[i].Value, &v.Kids[j].Value
			if i == j || len(a.Raw)+len(b.Raw) > 4096 {
				continue // trivial, or too slow to decode for every pair
			}
			for _, nullIsAbsent := range []bool{false, true} {
				want, ok := exactEqual(a.Raw, b.Raw, nullIsAbsent)
				if got := Equal(a, b, nullIsAbsent); ok && got != want {
					c.t.Fatalf("Equal(%q, %q, %v) = %v; exact comparison gives %v", a.Raw, b.Raw, nullIsAbsent, got, want)
				}
			}
		}
	}
}

// numbers checks NumberKey on every pair of numbers seen: equal keys
// exactly when equal values.
func (c *checker) numbers() {
	for _, a := range c.nums {
		ra, ok := exactNumber(a)
		if !ok {
			continue
		}
		for _, b := range c.nums {
			rb, ok := exactNumber(b)
			if !ok {
				continue
			}
			if same := ra.Cmp(rb) == 0; (NumberKey(a) == NumberKey(b)) != same {
				c.t.Fatalf("NumberKey(%q) = %q, NumberKey(%q) = %q; equal values: %v", a, NumberKey(a), b, NumberKey(b), same)
			}
		}
	}
}

func kindOf(c byte) Kind {
	switch c {
	case 'n':
		return Null
	case 'f':
		return False
	case 't':
		return True
	case '"':
		return String
	case '[':
		return Array
	case '{':
		return Object
	}
	return Number
}

// exactNumber is the exact value of a number literal, when its exponent
// and digits are small enough to compute it.
func exactNumber(raw []byte) (*big.Rat, bool) {
	s := string(raw)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			return nil, false
		}
	}
	if len(s) > 400 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// exactEqual compares two JSON values decoded by encoding/json, numbers
// exactly; ok is false when a number is too large to compare.
func exactEqual(a, b []byte, nullIsAbsent bool) (equal, ok bool) {
	da, db := decode(a), decode(b)
	ok = true
	var eq func(x, y any) bool
	eq = func(x, y any) bool {
		switch x := x.(type) {
		case json.Number:
			y, isNum := y.(json.Number)
			if !isNum {
				return false
			}
			rx, okx := exactNumber([]byte(x))
			ry, oky := exactNumber([]byte(y))
			if !okx || !oky {
				ok = false
				return x == y
			}
			return rx.Cmp(ry) == 0
		case []any:
			y, isArr := y.([]any)
			if !isArr || len(x) != len(y) {
				return false
			}
			for i := range x {
				if !eq(x[i], y[i]) {
					return false
				}
			}
			return true
		case map[string]any:
			y, isObj := y.(map[string]any)
			if !isObj {
				return false
			}
			if nullIsAbsent {
				x, y = dropNulls(x), dropNulls(y)
			}
			if len(x) != len(y) {
				return false
			}
			for k, xv := range x {
				yv, found := y[k]
				if !found || !eq(xv, yv) {
					return false
				}
			}
			return true
		}
		return x == y // nil, bool, string
	}
	return eq(da, db), ok
}

func dropNulls(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// decode decodes valid JSON as encoding/json does, numbers as json.Number.
func decode(data []byte) any {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	return v
}

// sameDecoded reports whether a and b decode to the same value.
func sameDecoded(a, b []byte) bool {
	equal, _ := exactEqual(a, b, false)
	return equal
}

// hasDuplicateKeys reports whether an object in valid JSON data repeats a
// key (after unescaping), using encoding/json's tokenizer.
func hasDuplicateKeys(data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	type frame struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			key := tok.(string)
			if stack[n-1].keys[key] {
				return true
			}
			stack[n-1].keys[key], stack[n-1].wantKey = true, false
			continue
		}
		valueDone()
	}
}
