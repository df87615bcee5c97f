package jsonmerge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// mergeCase is one three-way merge: either want (the exact output) or
// conflicts (the full report) is set.
type mergeCase struct {
	name               string
	opts               []Option
	base, ours, theirs string
	want               string
	conflicts          []PathConflict
}

func pc(path string, base, ours, theirs string) PathConflict {
	raw := func(s string) json.RawMessage {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	return PathConflict{Path: path, Base: raw(base), Ours: raw(ours), Theirs: raw(theirs)}
}

func runMergeCases(t *testing.T, cases []mergeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			merge := New(tc.opts...)
			got, err := merge([]byte(tc.base), []byte(tc.ours), []byte(tc.theirs))
			if tc.conflicts != nil {
				var mce *ConflictError
				if !errors.As(err, &mce) {
					t.Fatalf("merge = %s, %v; want *ConflictError", got, err)
				}
				if !errors.Is(err, ErrConflict) {
					t.Errorf("errors.Is(err, ErrConflict) = false")
				}
				if got != nil {
					t.Errorf("merge returned %s with a conflict, want nil", got)
				}
				if !reflect.DeepEqual(mce.Conflicts, tc.conflicts) {
					t.Errorf("conflicts:\n got %s\nwant %s", fmtConflicts(mce.Conflicts), fmtConflicts(tc.conflicts))
				}
				return
			}
			if err != nil {
				t.Fatalf("merge: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("merge =\n %s\nwant\n %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("merge returned invalid JSON %s", got)
			}
		})
	}
}

func fmtConflicts(cs []PathConflict) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "{%q base=%s ours=%s theirs=%s} ", c.Path, orAbsent(c.Base), orAbsent(c.Ours), orAbsent(c.Theirs))
	}
	return b.String()
}

func orAbsent(r json.RawMessage) string {
	if r == nil {
		return "<absent>"
	}
	return string(r)
}

func TestMergeJSON(t *testing.T) {
	t.Parallel()
	runMergeCases(t, []mergeCase{
		{
			name:   "disjoint changes",
			base:   `{"a":1,"b":2,"c":3}`,
			ours:   `{"a":10,"b":2,"c":3}`,
			theirs: `{"a":1,"b":20,"c":3}`,
			want:   `{"a":10,"b":20,"c":3}`,
		},
		{
			name:   "both add different members",
			base:   `{"a":1}`,
			ours:   `{"a":1,"x":"ours"}`,
			theirs: `{"a":1,"y":"theirs"}`,
			want:   `{"a":1,"y":"theirs","x":"ours"}`,
		},
		{
			name:   "same change on both sides",
			base:   `{"a":1,"s":"x","o":{"k":1}}`,
			ours:   `{"a":2,"s":"y","o":{"k":2}}`,
			theirs: `{"a":2.0,"s":"\u0079","o":{"k":2}}`,
			want:   `{"a":2.0,"s":"\u0079","o":{"k":2}}`,
		},
		{
			name:   "every conflicting path reported",
			base:   `{"a":1,"b":{"c":1,"d":1},"e":[1],"f":"same"}`,
			ours:   `{"a":2,"b":{"c":2,"d":1},"e":[2],"f":"same","g":true}`,
			theirs: `{"a":3,"b":{"c":3,"d":2},"e":[3],"f":"same","g":false}`,
			conflicts: []PathConflict{
				pc("/a", `1`, `2`, `3`),
				pc("/b/c", `1`, `2`, `3`),
				pc("/e", `[1]`, `[2]`, `[3]`),
				pc("/g", ``, `true`, `false`),
			},
		},
		{
			name:   "nested objects",
			base:   `{"meta":{"labels":{"app":"web","tier":"front"},"owner":"ann"},"spec":{"replicas":1}}`,
			ours:   `{"meta":{"labels":{"app":"web","tier":"back"},"owner":"ann"},"spec":{"replicas":1}}`,
			theirs: `{"meta":{"labels":{"app":"web","tier":"front","env":"prod"},"owner":"bob"},"spec":{"replicas":3}}`,
			want:   `{"meta":{"labels":{"app":"web","tier":"back","env":"prod"},"owner":"bob"},"spec":{"replicas":3}}`,
		},
		{
			name:   "both add an object",
			base:   `{}`,
			ours:   `{"o":{"a":1,"c":1}}`,
			theirs: `{"o":{"b":2,"c":1}}`,
			want:   `{"o":{"b":2,"c":1,"a":1}}`,
		},
		{
			name:      "both replace a scalar with different objects",
			base:      `{"o":null}`,
			ours:      `{"o":{"a":1}}`,
			theirs:    `{"o":{"b":2}}`,
			conflicts: []PathConflict{pc("/o", `null`, `{"a":1}`, `{"b":2}`)},
		},
		{
			name:   "array changed by one side",
			base:   `{"tags":["a"],"n":1}`,
			ours:   `{"tags":["a","b"],"n":1}`,
			theirs: `{"tags":["a"],"n":2}`,
			want:   `{"tags":["a","b"],"n":2}`,
		},
		{
			name:   "array changed the same on both sides",
			base:   `{"tags":["a"]}`,
			ours:   `{"tags":["a","b"]}`,
			theirs: `{"tags":["a","b"]}`,
			want:   `{"tags":["a","b"]}`,
		},
		{
			name:      "array is atomic",
			base:      `{"tags":["a"]}`,
			ours:      `{"tags":["a","b"]}`,
			theirs:    `{"tags":["a","c"]}`,
			conflicts: []PathConflict{pc("/tags", `["a"]`, `["a","b"]`, `["a","c"]`)},
		},
		{
			name:   "delete on one side, untouched on the other",
			base:   `{"a":1,"b":2}`,
			ours:   `{"b":2}`,
			theirs: `{"a":1,"b":3}`,
			want:   `{"b":3}`,
		},
		{
			name:   "delete on both sides",
			base:   `{"a":1,"b":2}`,
			ours:   `{"b":2}`,
			theirs: `{"b":3}`,
			want:   `{"b":3}`,
		},
		{
			name:      "ours deletes, theirs changes",
			base:      `{"a":1}`,
			ours:      `{}`,
			theirs:    `{"a":2}`,
			conflicts: []PathConflict{pc("/a", `1`, ``, `2`)},
		},
		{
			name:      "ours changes, theirs deletes",
			base:      `{"a":{"x":1}}`,
			ours:      `{"a":{"x":2}}`,
			theirs:    `{}`,
			conflicts: []PathConflict{pc("/a", `{"x":1}`, `{"x":2}`, ``)},
		},
		{
			name:   "null is a value",
			base:   `{"a":1}`,
			ours:   `{"a":null}`,
			theirs: `{"a":1,"b":2}`,
			want:   `{"a":null,"b":2}`,
		},
		{
			name:      "null is not a deletion",
			base:      `{"a":1}`,
			ours:      `{"a":null}`,
			theirs:    `{}`,
			conflicts: []PathConflict{pc("/a", `1`, `null`, ``)},
		},
		{
			name:   "merge patch mode: null deletes",
			opts:   []Option{MergePatchMode()},
			base:   `{"a":1,"c":1}`,
			ours:   `{"a":null,"c":1}`,
			theirs: `{"a":1,"b":2,"c":2}`,
			want:   `{"a":null,"b":2,"c":2}`,
		},
		{
			name:   "merge patch mode: deleted on both sides",
			opts:   []Option{MergePatchMode()},
			base:   `{"a":1}`,
			ours:   `{"a":null}`,
			theirs: `{}`,
			want:   `{}`,
		},
		{
			name:   "merge patch mode: null and absent are the same",
			opts:   []Option{MergePatchMode()},
			base:   `{"x":null,"a":1}`,
			ours:   `{"a":2}`,
			theirs: `{"x":null,"a":1,"b":1}`,
			want:   `{"x":null,"a":2,"b":1}`,
		},
		{
			name:      "merge patch mode: delete vs change",
			opts:      []Option{MergePatchMode()},
			base:      `{"a":1}`,
			ours:      `{"a":null}`,
			theirs:    `{"a":2}`,
			conflicts: []PathConflict{pc("/a", `1`, ``, `2`)},
		},
		{
			name:   "merge patch mode: nulls in arrays are values",
			opts:   []Option{MergePatchMode()},
			base:   `{"a":[1]}`,
			ours:   `{"a":[null]}`,
			theirs: `{"a":[1],"b":1}`,
			want:   `{"a":[null],"b":1}`,
		},
		{
			name:   "numbers keep their exact text",
			base:   `{"big":12345678901234567890,"dec":0.1,"huge":1e400,"s":"a"}`,
			ours:   `{"big":12345678901234567890,"dec":0.1,"huge":1e400,"s":"b","neg":-0.0000000000000000000001}`,
			theirs: `{"big":12345678901234567891,"dec":0.1,"huge":1E+400,"s":"a"}`,
			want:   `{"big":12345678901234567891,"dec":0.1,"huge":1E+400,"s":"b","neg":-0.0000000000000000000001}`,
		},
		{
			name:   "large integers differing past float64 precision",
			base:   `{"n":12345678901234567890}`,
			ours:   `{"n":12345678901234567891}`,
			theirs: `{"n":12345678901234567890,"m":1}`,
			want:   `{"n":12345678901234567891,"m":1}`,
		},
		{
			name:   "equal numbers in other spellings are unchanged",
			base:   `{"a":1,"b":100}`,
			ours:   `{"a":1.0,"b":1e2}`,
			theirs: `{"a":1.50,"b":100}`,
			want:   `{"a":1.50,"b":100}`,
		},
		{
			name:   "key order of theirs kept, our additions appended in our order",
			base:   `{"m":1}`,
			ours:   `{"c":3,"m":1,"b":2}`,
			theirs: `{"z":0,"m":1,"a":0}`,
			want:   `{"z":0,"m":1,"a":0,"c":3,"b":2}`,
		},
		{
			name:   "unknown members of theirs kept",
			base:   `{"title":"a"}`,
			ours:   `{"title":"b"}`,
			theirs: `{"title":"a","x-server":{"etag":"7"}}`,
			want:   `{"title":"b","x-server":{"etag":"7"}}`,
		},
		{
			name:   "no HTML escaping, input spelling kept, output compact",
			base:   "{\"h\": \"<a>\", \"u\": \"\\u003c\"}",
			ours:   "{\n  \"h\": \"<b> & </b>\",\n  \"u\": \"\\u003c\"\n}",
			theirs: "{ \"h\" : \"<a>\" , \"u\" : \"\\u003c\" , \"w\" : [ 1 , { \"k\" : true } ] }",
			want:   `{"h":"<b> & </b>","u":"\u003c","w":[1,{"k":true}]}`,
		},
		{
			name:   "duplicate keys: last wins",
			base:   `{"a":1,"a":2}`,
			ours:   `{"a":2,"b":1}`,
			theirs: `{"a":1,"a":2,"c":1}`,
			want:   `{"a":2,"c":1,"b":1}`,
		},
		{
			name:   "escaped keys match unescaped ones",
			base:   `{"a/b":1,"t~":1}`,
			ours:   `{"a\/b":2,"t~":1}`,
			theirs: `{"a/b":1,"t~":2}`,
			want:   `{"a/b":2,"t~":2}`,
		},
		{
			name:      "pointer escaping in conflict paths",
			base:      `{"a/b":{"t~":1}}`,
			ours:      `{"a/b":{"t~":2}}`,
			theirs:    `{"a/b":{"t~":3}}`,
			conflicts: []PathConflict{pc("/a~1b/t~0", `1`, `2`, `3`)},
		},
		{
			name:   "top level: base equals ours",
			base:   `1`,
			ours:   ` 1 `,
			theirs: `[2]`,
			want:   `[2]`,
		},
		{
			name:   "top level: base equals theirs",
			base:   `"x"`,
			ours:   `"y"`,
			theirs: `"\u0078"`,
			want:   `"y"`,
		},
		{
			name:   "top level: ours equals theirs",
			base:   `[1]`,
			ours:   `[2]`,
			theirs: `[2]`,
			want:   `[2]`,
		},
		{
			name:      "top level: conflict at the root",
			base:      `[1]`,
			ours:      `[2]`,
			theirs:    `{"a":1}`,
			conflicts: []PathConflict{pc("", `[1]`, `[2]`, `{"a":1}`)},
		},
		{
			name:   "fast path base equals ours compacts theirs",
			base:   `{"a":1}`,
			ours:   `{"a":1}`,
			theirs: "{ \"a\" : 2 }",
			want:   `{"a":2}`,
		},
	})
}

func TestMergeJSONKeyedArray(t *testing.T) {
	t.Parallel()
	items := KeyedArray("/items", "id")
	runMergeCases(t, []mergeCase{
		{
			name:   "insert on both sides, change and delete",
			opts:   []Option{items},
			base:   `{"items":[{"id":1,"n":"a"},{"id":2,"n":"b"}]}`,
			ours:   `{"items":[{"id":1,"n":"A"},{"id":2,"n":"b"},{"id":3,"n":"ours"}]}`,
			theirs: `{"items":[{"id":4,"n":"theirs"},{"id":1,"n":"a"}]}`,
			want:   `{"items":[{"id":4,"n":"theirs"},{"id":1,"n":"A"},{"id":3,"n":"ours"}]}`,
		},
		{
			name:   "delete on one side",
			opts:   []Option{items},
			base:   `{"items":[{"id":1},{"id":2},{"id":3}]}`,
			ours:   `{"items":[{"id":1},{"id":3}]}`,
			theirs: `{"items":[{"id":1},{"id":2},{"id":3,"x":1}]}`,
			want:   `{"items":[{"id":1},{"id":3,"x":1}]}`,
		},
		{
			name:   "element changed on both sides, disjoint fields",
			opts:   []Option{items},
			base:   `{"items":[{"id":"a","qty":1,"note":""}]}`,
			ours:   `{"items":[{"id":"a","qty":2,"note":""}]}`,
			theirs: `{"items":[{"id":"z"},{"id":"a","qty":1,"note":"gift"}]}`,
			want:   `{"items":[{"id":"z"},{"id":"a","qty":2,"note":"gift"}]}`,
		},
		{
			name:      "element changed on both sides: path uses index in theirs",
			opts:      []Option{items},
			base:      `{"items":[{"id":1,"n":"a"},{"id":2,"n":"b"}]}`,
			ours:      `{"items":[{"id":1,"n":"a"},{"id":2,"n":"ours"}]}`,
			theirs:    `{"items":[{"id":0},{"id":1,"n":"a"},{"id":2,"n":"theirs"}]}`,
			conflicts: []PathConflict{pc("/items/2/n", `"b"`, `"ours"`, `"theirs"`)},
		},
		{
			name:      "element changed by ours, deleted by theirs: index in ours",
			opts:      []Option{items},
			base:      `{"items":[{"id":1},{"id":2,"n":"b"}]}`,
			ours:      `{"items":[{"id":1},{"id":2,"n":"B"}]}`,
			theirs:    `{"items":[{"id":1}]}`,
			conflicts: []PathConflict{pc("/items/1", `{"id":2,"n":"b"}`, `{"id":2,"n":"B"}`, ``)},
		},
		{
			name:   "same id added on both sides merges",
			opts:   []Option{items},
			base:   `{"items":[]}`,
			ours:   `{"items":[{"id":7,"a":1}]}`,
			theirs: `{"items":[{"id":7,"b":2}]}`,
			want:   `{"items":[{"id":7,"b":2,"a":1}]}`,
		},
		{
			name:   "numeric ids match by value",
			opts:   []Option{items},
			base:   `{"items":[{"id":1,"v":0}]}`,
			ours:   `{"items":[{"id":1.0,"v":1}]}`,
			theirs: `{"items":[{"id":1,"v":0},{"id":2}]}`,
			want:   `{"items":[{"id":1,"v":1},{"id":2}]}`,
		},
		{
			name:   "reorder by ours alone is kept",
			opts:   []Option{items},
			base:   `{"items":[{"id":1},{"id":2}],"n":1}`,
			ours:   `{"items":[{"id":2},{"id":1}],"n":1}`,
			theirs: `{"items":[{"id":1},{"id":2}],"n":2}`,
			want:   `{"items":[{"id":2},{"id":1}],"n":2}`,
		},
		{
			name:   "wildcard pointer",
			opts:   []Option{KeyedArray("/orders/*/lines", "sku")},
			base:   `{"orders":[{"lines":[{"sku":"a","q":1}]}]}`,
			ours:   `{"orders":[{"lines":[{"sku":"a","q":2}]}]}`,
			theirs: `{"orders":[{"lines":[{"sku":"a","q":1},{"sku":"b","q":1}]}]}`,
			conflicts: []PathConflict{
				pc("/orders", `[{"lines":[{"sku":"a","q":1}]}]`, `[{"lines":[{"sku":"a","q":2}]}]`, `[{"lines":[{"sku":"a","q":1},{"sku":"b","q":1}]}]`),
			},
		},
		{
			name:   "wildcard pointer inside a keyed array",
			opts:   []Option{KeyedArray("/orders", "id"), KeyedArray("/orders/*/lines", "sku")},
			base:   `{"orders":[{"id":1,"lines":[{"sku":"a","q":1}]}]}`,
			ours:   `{"orders":[{"id":1,"lines":[{"sku":"a","q":2}]}]}`,
			theirs: `{"orders":[{"id":1,"lines":[{"sku":"a","q":1},{"sku":"b","q":1}]}]}`,
			want:   `{"orders":[{"id":1,"lines":[{"sku":"a","q":2},{"sku":"b","q":1}]}]}`,
		},
		{
			name:   "keyed array at the root",
			opts:   []Option{KeyedArray("", "id")},
			base:   `[{"id":1}]`,
			ours:   `[{"id":1},{"id":2}]`,
			theirs: `[{"id":3},{"id":1}]`,
			want:   `[{"id":3},{"id":1},{"id":2}]`,
		},
		{
			name:      "elements without ids fall back to atomic",
			opts:      []Option{items},
			base:      `{"items":[{"id":1}]}`,
			ours:      `{"items":[{"id":1},{"name":"no id"}]}`,
			theirs:    `{"items":[{"id":1},{"id":2}]}`,
			conflicts: []PathConflict{pc("/items", `[{"id":1}]`, `[{"id":1},{"name":"no id"}]`, `[{"id":1},{"id":2}]`)},
		},
		{
			name:      "duplicate ids fall back to atomic",
			opts:      []Option{items},
			base:      `{"items":[{"id":1}]}`,
			ours:      `{"items":[{"id":1},{"id":1,"x":1}]}`,
			theirs:    `{"items":[{"id":1},{"id":2}]}`,
			conflicts: []PathConflict{pc("/items", `[{"id":1}]`, `[{"id":1},{"id":1,"x":1}]`, `[{"id":1},{"id":2}]`)},
		},
		{
			name:   "keyed array added on both sides",
			opts:   []Option{items},
			base:   `{}`,
			ours:   `{"items":[{"id":1}]}`,
			theirs: `{"items":[{"id":2}]}`,
			want:   `{"items":[{"id":2},{"id":1}]}`,
		},
	})
}

func TestMergeJSONPathPolicy(t *testing.T) {
	t.Parallel()
	base := `{"title":"a","price":1,"updated_at":"t0","meta":{"x":1,"y":1}}`
	ours := `{"title":"b","price":2,"updated_at":"t1","meta":{"x":2,"y":2}}`
	theirs := `{"title":"c","price":3,"updated_at":"t2","meta":{"x":3,"y":3}}`
	concat := ResolveWith(func(path string, b, o, t json.RawMessage) (json.RawMessage, error) {
		var so, st string
		if err := json.Unmarshal(o, &so); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(t, &st); err != nil {
			return nil, err
		}
		return json.Marshal(st + "+" + so)
	})
	runMergeCases(t, []mergeCase{
		{
			name: "for /updated_at take theirs",
			opts: []Option{PathPolicy("/updated_at", TakeTheirs)},
			base: base, ours: ours, theirs: theirs,
			conflicts: []PathConflict{
				pc("/title", `"a"`, `"b"`, `"c"`),
				pc("/price", `1`, `2`, `3`),
				pc("/meta/x", `1`, `2`, `3`),
				pc("/meta/y", `1`, `2`, `3`),
			},
		},
		{
			name: "ours everywhere, theirs under /meta, fail at /meta/y",
			opts: []Option{
				PathPolicy("", TakeOurs),
				PathPolicy("/meta", TakeTheirs),
				PathPolicy("/meta/y", Report),
			},
			base: base, ours: ours, theirs: theirs,
			conflicts: []PathConflict{pc("/meta/y", `1`, `2`, `3`)},
		},
		{
			name: "all resolved",
			opts: []Option{
				PathPolicy("", TakeOurs),
				PathPolicy("/updated_at", TakeTheirs),
				PathPolicy("/title", concat),
				PathPolicy("/meta/*", TakeTheirs),
			},
			base: base, ours: ours, theirs: theirs,
			want: `{"title":"c+b","price":2,"updated_at":"t2","meta":{"x":3,"y":3}}`,
		},
		{
			name: "exact segment beats wildcard of equal length; later wins a tie",
			opts: []Option{
				PathPolicy("/meta/x", TakeOurs),
				PathPolicy("/meta/*", TakeTheirs),
				PathPolicy("/title", TakeTheirs),
				PathPolicy("/title", TakeOurs),
				PathPolicy("/price", TakeOurs),
				PathPolicy("/updated_at", TakeOurs),
			},
			base: base, ours: ours, theirs: theirs,
			want: `{"title":"b","price":2,"updated_at":"t1","meta":{"x":2,"y":3}}`,
		},
		{
			name:   "take ours where ours deleted",
			opts:   []Option{PathPolicy("", TakeOurs)},
			base:   `{"a":1,"b":1}`,
			ours:   `{"b":1}`,
			theirs: `{"a":2,"b":1}`,
			want:   `{"b":1}`,
		},
		{
			name:   "take ours where ours deleted, merge patch mode",
			opts:   []Option{PathPolicy("", TakeOurs), MergePatchMode()},
			base:   `{"a":1,"b":1}`,
			ours:   `{"a":null,"b":1}`,
			theirs: `{"a":2,"b":1}`,
			want:   `{"a":null,"b":1}`,
		},
		{
			name: "resolver sees absent values as nil and can delete",
			opts: []Option{PathPolicy("/a", ResolveWith(func(path string, b, o, t json.RawMessage) (json.RawMessage, error) {
				if path != "/a" || string(b) != "1" || o != nil || string(t) != "2" {
					return nil, fmt.Errorf("unexpected call %q %s %s %s", path, b, o, t)
				}
				return nil, nil
			}))},
			base:   `{"a":1,"b":1}`,
			ours:   `{"b":1}`,
			theirs: `{"a":2,"b":1}`,
			want:   `{"b":1}`,
		},
		{
			name: "resolver declines with ErrConflict",
			opts: []Option{PathPolicy("", ResolveWith(func(path string, b, o, t json.RawMessage) (json.RawMessage, error) {
				if path == "/title" {
					return nil, fmt.Errorf("cannot merge titles: %w", ErrConflict)
				}
				return o, nil
			}))},
			base: base, ours: ours, theirs: theirs,
			conflicts: []PathConflict{pc("/title", `"a"`, `"b"`, `"c"`)},
		},
		{
			name:      "nil ResolveWith is Report",
			opts:      []Option{PathPolicy("", ResolveWith(nil))},
			base:      `{"a":1}`,
			ours:      `{"a":2}`,
			theirs:    `{"a":3}`,
			conflicts: []PathConflict{pc("/a", `1`, `2`, `3`)},
		},
		{
			name:   "nil option ignored",
			opts:   []Option{nil},
			base:   `{"a":1}`,
			ours:   `{"a":2}`,
			theirs: `{"a":1,"b":1}`,
			want:   `{"a":2,"b":1}`,
		},
	})
}

func TestMergeJSONResolverErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	merge := New(PathPolicy("", ResolveWith(func(string, json.RawMessage, json.RawMessage, json.RawMessage) (json.RawMessage, error) {
		return nil, boom
	})))
	_, err := merge([]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`))
	if !errors.Is(err, boom) || errors.Is(err, ErrConflict) {
		t.Errorf("err = %v, want one wrapping boom and not ErrConflict", err)
	}

	merge = New(PathPolicy("", ResolveWith(func(string, json.RawMessage, json.RawMessage, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"unterminated"`), nil
	})))
	_, err = merge([]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`))
	var ije *InvalidJSONError
	if !errors.As(err, &ije) || ije.Which != "resolution" {
		t.Errorf("err = %v, want *InvalidJSONError for resolution", err)
	}
}

func TestMergeJSONInvalidInput(t *testing.T) {
	t.Parallel()
	valid := `{"a":1}`
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	for _, tc := range []struct {
		name, base, ours, theirs, which string
	}{
		{"base", `{"a":`, valid, valid, "base"},
		{"ours", valid, `{"a":1,}`, `{"a":2}`, "ours"},
		{"theirs", valid, `{"a":2}`, `{"a":01}`, "theirs"},
		{"theirs on fast path", valid, valid, `nope`, "theirs"},
		{"ours on fast path", valid, `[1] [2]`, valid, "ours"},
		{"base on fast path", `{`, `{`, valid, "base"},
		{"empty", ``, valid, `{"a":2}`, "base"},
		{"control character", valid, "\"a\x01\"", `{"a":2}`, "ours"},
		{"bad escape", valid, `"\x"`, `{"a":2}`, "ours"},
		{"too deep", valid, `{"a":2}`, deep, "theirs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Merge([]byte(tc.base), []byte(tc.ours), []byte(tc.theirs))
			var ije *InvalidJSONError
			if !errors.As(err, &ije) {
				t.Fatalf("Merge = %s, %v; want *InvalidJSONError", got, err)
			}
			if ije.Which != tc.which {
				t.Errorf("Which = %q, want %q (%v)", ije.Which, tc.which, err)
			}
			if ije.Offset < 0 {
				t.Errorf("Offset = %d, want >= 0", ije.Offset)
			}
			if !strings.HasPrefix(err.Error(), "jsonmerge: invalid JSON in "+tc.which+": ") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
	// Nested exactly to the limit is fine.
	ok := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if _, err := Merge([]byte(valid), []byte(`{"a":2}`), []byte(ok)); !errors.Is(err, ErrConflict) {
		t.Errorf("depth 10000: err = %v, want a merge conflict", err)
	}
}

func TestMergeConflictErrorMessage(t *testing.T) {
	t.Parallel()
	e := &ConflictError{Conflicts: []PathConflict{{Path: ""}, {Path: "/a"}}}
	if got, want := e.Error(), `jsonmerge: merge conflict at "", "/a"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var many []PathConflict
	for i := range 12 {
		many = append(many, PathConflict{Path: fmt.Sprintf("/%d", i)})
	}
	e = &ConflictError{Conflicts: many}
	if got := e.Error(); !strings.HasSuffix(got, `"/9" and 2 more`) {
		t.Errorf("Error() = %q", got)
	}
	if got := (&ConflictError{}).Error(); got != "jsonmerge: merge conflict" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, ErrConflict) {
		t.Error("errors.Is(wrapped, ErrConflict) = false")
	}
	if errors.Is(e, errors.ErrUnsupported) {
		t.Error("errors.Is(e, errors.ErrUnsupported) = true")
	}
}

func TestMergeOptionsPanicOnBadPointer(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"items", "/a~", "/a~2b"} {
		for name, f := range map[string]func(){
			"KeyedArray": func() { KeyedArray(p, "id") },
			"PathPolicy": func() { PathPolicy(p, TakeOurs) },
		} {
			func() {
				defer func() {
					r := recover()
					if r == nil || !strings.Contains(fmt.Sprint(r), "jsonmerge: "+name+": invalid JSON Pointer") {
						t.Errorf("%s(%q): recover() = %v", name, p, r)
					}
				}()
				f()
			}()
		}
	}
}

func TestPolicyString(t *testing.T) {
	t.Parallel()
	for p, want := range map[Policy]string{Report: "fail", TakeOurs: "ours", TakeTheirs: "theirs", ResolveWith(func(string, json.RawMessage, json.RawMessage, json.RawMessage) (json.RawMessage, error) {
		return nil, nil
	}): "func"} {
		if got := p.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	if (Policy{}) != Report {
		t.Error("zero Policy != Report")
	}
}

func TestMergeJSONDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	base, ours, theirs := []byte(`{"a":1}`), []byte(`{"a":1}`), []byte(`{"a":2}`)
	got, err := Merge(base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = 'X'
	if string(theirs) != `{"a":2}` {
		t.Errorf("theirs changed to %s", theirs)
	}
}

func TestMergeJSONConcurrent(t *testing.T) {
	t.Parallel()
	merge := New(KeyedArray("/items", "id"), PathPolicy("/n", TakeTheirs))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ours := fmt.Sprintf(`{"items":[{"id":1},{"id":%d}],"n":%d}`, i+10, i)
			got, err := merge([]byte(`{"items":[{"id":1}],"n":0}`), []byte(ours), []byte(`{"items":[{"id":1},{"id":2}],"n":-1}`))
			want := fmt.Sprintf(`{"items":[{"id":1},{"id":2},{"id":%d}],"n":-1}`, i+10)
			if err != nil || string(got) != want {
				t.Errorf("merge = %s, %v; want %s", got, err, want)
			}
		}()
	}
	wg.Wait()
}

type mergeDoc struct {
	Title string   `json:"title"`
	Tags  []string `json:"tags,omitempty"`
	Views int64    `json:"views"`
}

func TestMergeTyped(t *testing.T) {
	t.Parallel()
	merge := Typed(func(base, ours, theirs mergeDoc) (mergeDoc, error) {
		if ours.Title != base.Title {
			if theirs.Title != base.Title && theirs.Title != ours.Title {
				return mergeDoc{}, &ConflictError{Conflicts: []PathConflict{{Path: "/title"}}}
			}
			theirs.Title = ours.Title
		}
		theirs.Views += ours.Views - base.Views
		return theirs, nil
	})

	base := `{"title":"a","views":10}`
	ours := `{"title":"b","views":12}`
	theirs := `{"title":"a","views":15,"tags":["x"],"etag":"\"v7\"","big":12345678901234567890,"ratio":0.10}`
	got, err := merge([]byte(base), []byte(ours), []byte(theirs))
	if err != nil {
		t.Fatal(err)
	}
	// Members T does not model and number spellings survive.
	if want := `{"title":"b","views":17,"tags":["x"],"etag":"\"v7\"","big":12345678901234567890,"ratio":0.10}`; string(got) != want {
		t.Errorf("merge =\n %s\nwant\n %s", got, want)
	}

	_, err = merge([]byte(base), []byte(ours), []byte(`{"title":"c","views":10}`))
	if !errors.Is(err, ErrConflict) {
		t.Errorf("err = %v, want a merge conflict from f", err)
	}

	_, err = merge([]byte(base), []byte(`{"title":1}`), []byte(theirs))
	var ije *InvalidJSONError
	if !errors.As(err, &ije) || ije.Which != "ours" || ije.Offset < 0 {
		t.Errorf("err = %v, want *InvalidJSONError for ours with an offset", err)
	}
	_, err = merge([]byte(base), []byte(ours), []byte(`{`))
	if !errors.As(err, &ije) || ije.Which != "theirs" {
		t.Errorf("err = %v, want *InvalidJSONError for theirs", err)
	}
}

func TestMergeTypedModifiesTheirsInPlace(t *testing.T) {
	t.Parallel()
	// f changes a map it received inside theirs; the change must still be
	// seen as a change.
	merge := Typed(func(_, _, theirs map[string]any) (map[string]any, error) {
		theirs["a"] = "changed"
		delete(theirs, "gone")
		return theirs, nil
	})
	got, err := merge([]byte(`{}`), []byte(`{}`), []byte(`{"a":"x","gone":1,"n":1e400}`))
	if err == nil {
		t.Fatalf("merge = %s; want an error, 1e400 does not fit float64", got)
	}
	got, err = merge([]byte(`{}`), []byte(`{}`), []byte(`{"a":"x","gone":1,"n":0.1}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"changed","n":0.1}`; string(got) != want {
		t.Errorf("merge = %s, want %s", got, want)
	}
}

// RFC 7396, Appendix A.
var rfc7396Cases = []struct{ doc, patch, want string }{
	{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
	{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
	{`{"a":"b"}`, `{"a":null}`, `{}`},
	{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
	{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
	{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
	{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
	{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
	{`["a","b"]`, `["c","d"]`, `["c","d"]`},
	{`{"a":"b"}`, `["c"]`, `["c"]`},
	{`{"a":"foo"}`, `null`, `null`},
	{`{"a":"foo"}`, `"bar"`, `"bar"`},
	{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
	{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
	{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
}

func TestMergePatchRFC7396(t *testing.T) {
	t.Parallel()
	for _, tc := range rfc7396Cases {
		got, err := ApplyPatch([]byte(tc.doc), []byte(tc.patch))
		if err != nil {
			t.Errorf("ApplyPatch(%s, %s): %v", tc.doc, tc.patch, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("ApplyPatch(%s, %s) = %s, want %s", tc.doc, tc.patch, got, tc.want)
		}
	}
}

func TestMergePatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, patch, want string }{
		{`{"n":12345678901234567890,"d":0.1}`, `{"e":1e400}`, `{"n":12345678901234567890,"d":0.1,"e":1e400}`},
		{"{ \"b\" : 1 ,\n \"a\" : [ 1 ] }", `{"c":"<>"}`, `{"b":1,"a":[1],"c":"<>"}`},
		{`{"a":{"x":1}}`, `{"a":{"y":[null]}}`, `{"a":{"x":1,"y":[null]}}`},
		{`{"a":1,"a":2}`, `{"b":1,"b":null}`, `{"a":2}`},
		{`{"a":1}`, `{}`, `{"a":1}`},
		{`"x"`, `{"a":{"b":null}}`, `{"a":{}}`},
	} {
		got, err := ApplyPatch([]byte(tc.doc), []byte(tc.patch))
		if err != nil || string(got) != tc.want {
			t.Errorf("ApplyPatch(%s, %s) = %s, %v; want %s", tc.doc, tc.patch, got, err, tc.want)
		}
	}
	var ije *InvalidJSONError
	if _, err := ApplyPatch([]byte(`{`), []byte(`{}`)); !errors.As(err, &ije) || ije.Which != "doc" {
		t.Errorf("bad doc: err = %v", err)
	}
	if _, err := ApplyPatch([]byte(`{}`), []byte(`{"a"}`)); !errors.As(err, &ije) || ije.Which != "patch" {
		t.Errorf("bad patch: err = %v", err)
	}
}

func TestCreateMergePatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ original, modified, want string }{
		{`{"a":1}`, `{"a":1}`, `{}`},
		{`{"a":1,"b":2}`, `{"a":1,"b":3}`, `{"b":3}`},
		{`{"a":1,"b":2}`, `{"b":2,"c":3}`, `{"c":3,"a":null}`},
		{`{"a":{"x":1,"y":2}}`, `{"a":{"x":1,"y":3}}`, `{"a":{"y":3}}`},
		{`{"a":{"x":1}}`, `{"a":{"x":1.0}}`, `{}`},
		{`{"a":[1,2]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"a":{"x":1}}`, `{"a":"flat"}`, `{"a":"flat"}`},
		{`{"n":1}`, `{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
		{`[1]`, `{"a":1}`, `{"a":1}`},
		{`{"a":1}`, `[1]`, `[1]`},
		{`{"a":1}`, `{"a":null}`, `{"a":null}`},
	} {
		got, err := CreatePatch([]byte(tc.original), []byte(tc.modified))
		if err != nil || string(got) != tc.want {
			t.Errorf("CreatePatch(%s, %s) = %s, %v; want %s", tc.original, tc.modified, got, err, tc.want)
		}
	}
	var ije *InvalidJSONError
	if _, err := CreatePatch([]byte(`x`), []byte(`{}`)); !errors.As(err, &ije) || ije.Which != "original" {
		t.Errorf("bad original: err = %v", err)
	}
	if _, err := CreatePatch([]byte(`{}`), []byte(`{,}`)); !errors.As(err, &ije) || ije.Which != "modified" {
		t.Errorf("bad modified: err = %v", err)
	}
}

func TestCreateMergePatchRoundTrip(t *testing.T) {
	t.Parallel()
	docs := []string{
		`{}`,
		`{"a":1}`,
		`{"a":1,"b":{"c":[1,2],"d":"x"}}`,
		`{"b":{"c":[1,null],"e":{"f":true}},"g":0.1}`,
		`{"a":{"b":{"c":{"d":1}}},"z":12345678901234567890}`,
		`[1,2]`,
		`"s"`,
	}
	for _, a := range docs {
		for _, b := range docs {
			p, err := CreatePatch([]byte(a), []byte(b))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ApplyPatch([]byte(a), p)
			if err != nil {
				t.Fatal(err)
			}
			if !mergeJSONEqual(t, got, []byte(b)) {
				t.Errorf("ApplyPatch(%s, CreatePatch(%s, %s) = %s) = %s", a, a, b, p, got)
			}
		}
	}
}

func TestRebaseMergePatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, base, patch, theirs string
		want                      string
		conflicts                 []PathConflict
	}{
		{
			name:  "theirs unchanged",
			base:  `{"a":1,"b":1}`,
			patch: `{"a":2}`, theirs: `{"a":1,"b":1}`,
			want: `{"a":2}`,
		},
		{
			// The patch removes c, which base did not have: theirs' c is
			// kept.
			name:  "disjoint change by theirs",
			base:  `{"a":1,"b":1}`,
			patch: `{"a":2,"c":null}`, theirs: `{"a":1,"b":2,"c":0}`,
			want: `{"a":2}`,
		},
		{
			name:  "same change by theirs",
			base:  `{"a":1}`,
			patch: `{"a":2}`, theirs: `{"a":2.0}`,
			want: `{}`,
		},
		{
			name:  "conflicting change",
			base:  `{"a":1,"b":{"x":1}}`,
			patch: `{"a":2,"b":{"x":2}}`, theirs: `{"a":3,"b":{"x":3}}`,
			conflicts: []PathConflict{pc("/a", `1`, `2`, `3`), pc("/b/x", `1`, `2`, `3`)},
		},
		{
			name:  "remove vs change",
			base:  `{"a":1}`,
			patch: `{"a":null}`, theirs: `{"a":2}`,
			conflicts: []PathConflict{pc("/a", `1`, ``, `2`)},
		},
		{
			name:  "remove of a member theirs added is dropped",
			base:  `{"a":1}`,
			patch: `{"a":2,"x":null}`, theirs: `{"a":1,"x":"theirs"}`,
			want: `{"a":2}`,
		},
		{
			name:  "remove of a member theirs removed is dropped",
			base:  `{"a":1,"x":1}`,
			patch: `{"x":null}`, theirs: `{"a":2}`,
			want: `{}`,
		},
		{
			name:  "nested patch into an object theirs changed",
			base:  `{"o":{"a":1,"b":1}}`,
			patch: `{"o":{"a":2,"b":null}}`, theirs: `{"o":{"a":1,"b":1,"c":1}}`,
			want: `{"o":{"a":2,"b":null}}`,
		},
		{
			name:  "nested patch into an object theirs deleted",
			base:  `{"o":{"a":1}}`,
			patch: `{"o":{"a":2}}`, theirs: `{}`,
			conflicts: []PathConflict{pc("/o", `{"a":1}`, `{"a":2}`, ``)},
		},
		{
			name:  "no-op part dropped where theirs changed",
			base:  `{"o":{"a":1},"n":1}`,
			patch: `{"o":{"a":1},"n":1}`, theirs: `{"o":"replaced","n":2}`,
			want: `{}`,
		},
		{
			name:  "both add objects",
			base:  `{}`,
			patch: `{"o":{"a":1,"z":null}}`, theirs: `{"o":{"b":2,"z":3}}`,
			want: `{"o":{"a":1}}`,
		},
		{
			name:  "non-object patch, theirs unchanged",
			base:  `{"a":1}`,
			patch: `[1]`, theirs: `{"a":1}`,
			want: `[1]`,
		},
		{
			name:  "non-object patch, theirs changed",
			base:  `{"a":1}`,
			patch: `[1]`, theirs: `{"a":2}`,
			conflicts: []PathConflict{pc("", `{"a":1}`, `[1]`, `{"a":2}`)},
		},
		{
			name:  "non-object no-op patch, theirs changed",
			base:  `"x"`,
			patch: `"x"`, theirs: `"y"`,
			want: `"y"`,
		},
		{
			name:  "object patch onto a scalar base",
			base:  `"x"`,
			patch: `{"a":1}`, theirs: `"x"`,
			want: `{"a":1}`,
		},
		{
			name:  "big numbers kept",
			base:  `{"a":1}`,
			patch: `{"a":12345678901234567890}`, theirs: `{"a":1,"b":0.1}`,
			want: `{"a":12345678901234567890}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := RebasePatch([]byte(tc.base), []byte(tc.patch), []byte(tc.theirs))
			if tc.conflicts != nil {
				var mce *ConflictError
				if !errors.As(err, &mce) || !errors.Is(err, ErrConflict) {
					t.Fatalf("RebasePatch = %s, %v; want *ConflictError", got, err)
				}
				if !reflect.DeepEqual(mce.Conflicts, tc.conflicts) {
					t.Errorf("conflicts:\n got %s\nwant %s", fmtConflicts(mce.Conflicts), fmtConflicts(tc.conflicts))
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("RebasePatch = %s, %v; want %s", got, err, tc.want)
			}
			// The re-based patch applied to theirs must equal a clean
			// three-way merge of base, base+patch and theirs where that
			// merge is defined.
			applied, err := ApplyPatch([]byte(tc.theirs), got)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := ApplyPatch([]byte(tc.base), []byte(tc.patch))
			if err != nil {
				t.Fatal(err)
			}
			if merged, err := Merge([]byte(tc.base), ours, []byte(tc.theirs)); err == nil && !mergeJSONEqual(t, merged, applied) {
				t.Errorf("theirs+rebased = %s, three-way merge = %s", applied, merged)
			}
		})
	}
	var ije *InvalidJSONError
	for i, which := range []string{"base", "patch", "theirs"} {
		args := [][]byte{[]byte(`{}`), []byte(`{}`), []byte(`{}`)}
		args[i] = []byte(`{"`)
		if _, err := RebasePatch(args[0], args[1], args[2]); !errors.As(err, &ije) || ije.Which != which {
			t.Errorf("bad %s: err = %v", which, err)
		}
	}
}

// mergeJSONEqual reports whether a and b hold the same JSON value, with
// numbers compared by their text.
func mergeJSONEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(mergeDecode(t, a), mergeDecode(t, b))
}

func mergeDecode(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return v
}

// mergeBenchDocs returns a document of about 10 KiB (nested objects, arrays,
// numbers of every kind) and two edits of it that touch different paths.
func mergeBenchDocs() (base, ours, theirs []byte) {
	doc := func(title string, replicas int, label string, lastLine string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, `{"apiVersion":"v1","kind":"Document","metadata":{"name":"doc-1","namespace":"default","uid":"6f1c8d9e-1b2a-4c3d-9e8f-0a1b2c3d4e5f","resourceVersion":"12345678901234567890","labels":{"app":"web","tier":%q,"env":"prod"},"annotations":{"note":"a <b> & c","ratio":0.1}},`, label)
		fmt.Fprintf(&b, `"spec":{"title":%q,"replicas":%d,"limits":{"cpu":0.25,"memory":1e9},"lines":[`, title, replicas)
		for i := 0; i < 60; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			text := fmt.Sprintf("line %d of the document body", i)
			if i == 59 {
				text = lastLine
			}
			fmt.Fprintf(&b, `{"id":%d,"text":%q,"weight":%d.5,"tags":["x","y"]}`, i, text, i)
		}
		b.WriteString(`]},"status":{"phase":"Ready","conditions":[{"type":"Available","status":"True"}]}}`)
		return []byte(b.String())
	}
	return doc("Draft", 1, "front", "the end"),
		doc("Final", 1, "back", "the end"),
		doc("Draft", 3, "front", "the very end")
}

func BenchmarkMergeJSON(b *testing.B) {
	base, ours, theirs := mergeBenchDocs()
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Merge(base, ours, theirs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMergeJSONKeyed(b *testing.B) {
	base, ours, theirs := mergeBenchDocs()
	merge := New(KeyedArray("/spec/lines", "id"))
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := merge(base, ours, theirs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMergePatch(b *testing.B) {
	base, ours, _ := mergeBenchDocs()
	patch, err := CreatePatch(base, ours)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ApplyPatch(base, patch); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMergeJSONRandomEdits checks the central promise on random documents:
// edits by the two sides to disjoint paths all survive the merge, and edits
// to the same path with different values are reported there.
func TestMergeJSONRandomEdits(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		base := mergeRandObject(rng, 3)
		paths := mergeMemberPaths(base, nil)
		editA, editB := mergeRandEdit(rng, base, paths), mergeRandEdit(rng, base, paths)
		ours, theirs := mergeClone(base), mergeClone(base)
		editA.apply(ours)
		editB.apply(theirs)
		bj, oj, tj := mergeMarshal(t, base), mergeMarshal(t, ours), mergeMarshal(t, theirs)
		got, err := Merge(bj, oj, tj)

		overlap := mergeIsPrefix(editA.path, editB.path) || mergeIsPrefix(editB.path, editA.path)
		if !overlap {
			want := mergeClone(theirs)
			editA.apply(want)
			if err != nil || !fuzzSame(t, got, mergeMarshal(t, want)) {
				t.Fatalf("disjoint edits %v and %v:\nbase   %s\nours   %s\ntheirs %s\ngot    %s, %v\nwant   %s",
					editA, editB, bj, oj, tj, got, err, mergeMarshal(t, want))
			}
			continue
		}
		if reflect.DeepEqual(editA.path, editB.path) {
			a, b := mergeMarshal(t, editA.value), mergeMarshal(t, editB.value)
			_, aObj := editA.value.(map[string]any)
			_, bObj := editB.value.(map[string]any)
			orig := mergeMarshal(t, mergeAt(base, editA.path))
			changedA := editA.value == nil || !fuzzSame(t, a, orig)
			changedB := editB.value == nil || !fuzzSame(t, b, orig)
			differ := (editA.value == nil) != (editB.value == nil) || (editA.value != nil && !fuzzSame(t, a, b))
			if differ && changedA && changedB && !(aObj && bObj) && err == nil {
				t.Fatalf("edits %v and %v merged without a conflict: %s", editA, editB, got)
			}
		}
		if err != nil {
			var mce *ConflictError
			if !errors.As(err, &mce) {
				t.Fatalf("unexpected error %v", err)
			}
			// Every conflict is on the line of an edited path.
			related := func(p, q string) bool {
				return p == q || strings.HasPrefix(q, p+"/") || strings.HasPrefix(p, q+"/")
			}
			for _, c := range mce.Conflicts {
				if !related(c.Path, jsonv.FormatPointer(editA.path)) || !related(c.Path, jsonv.FormatPointer(editB.path)) {
					t.Fatalf("conflict at %q, edits at %v and %v", c.Path, editA, editB)
				}
			}
		}
	}
}

type mergeEdit struct {
	path  []string
	value any // nil: delete
}

func (e mergeEdit) String() string { return fmt.Sprintf("%s=%v", jsonv.FormatPointer(e.path), e.value) }

// apply sets or deletes the member at e.path, if its parent is an object.
func (e mergeEdit) apply(doc map[string]any) {
	m := doc
	for _, k := range e.path[:len(e.path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	last := e.path[len(e.path)-1]
	if e.value == nil {
		delete(m, last)
	} else {
		m[last] = e.value
	}
}

func mergeRandEdit(rng *rand.Rand, base map[string]any, paths [][]string) mergeEdit {
	if len(paths) == 0 || rng.IntN(4) == 0 {
		// Add a member to the root or to a nested object.
		parent := []string{}
		if len(paths) > 0 {
			p := paths[rng.IntN(len(paths))]
			if _, ok := mergeAt(base, p).(map[string]any); ok {
				parent = p
			}
		}
		return mergeEdit{path: append(append([]string{}, parent...), fmt.Sprintf("new%d", rng.IntN(3))), value: mergeRandValue(rng, 1)}
	}
	p := paths[rng.IntN(len(paths))]
	if rng.IntN(3) == 0 {
		return mergeEdit{path: p}
	}
	return mergeEdit{path: p, value: mergeRandValue(rng, 1)}
}

func mergeAt(doc any, path []string) any {
	for _, k := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

func mergeMemberPaths(m map[string]any, prefix []string) [][]string {
	var out [][]string
	for k, v := range m {
		p := append(append([]string{}, prefix...), k)
		out = append(out, p)
		if sub, ok := v.(map[string]any); ok {
			out = append(out, mergeMemberPaths(sub, p)...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return jsonv.FormatPointer(out[i]) < jsonv.FormatPointer(out[j]) })
	return out
}

func mergeIsPrefix(a, b []string) bool {
	return len(a) <= len(b) && reflect.DeepEqual(a, b[:len(a)])
}

func mergeRandObject(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for i, n := 0, rng.IntN(5); i < n; i++ {
		m[string(rune('a'+rng.IntN(5)))] = mergeRandValue(rng, depth-1)
	}
	return m
}

func mergeRandValue(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(9); {
	case k < 2 && depth > 0:
		return mergeRandObject(rng, depth)
	case k == 2:
		return []any{json.Number("1"), "x", rng.IntN(2) == 0}[:rng.IntN(4)]
	case k == 3:
		return json.Number([]string{"12345678901234567890", "0.1", "1e400", "-0", "7"}[rng.IntN(5)])
	case k == 4:
		return []string{"a", "<b>", "é", ""}[rng.IntN(4)]
	case k == 5:
		return rng.IntN(2) == 0
	case k == 6:
		return json.RawMessage("null")
	}
	return json.Number(fmt.Sprint(rng.IntN(3)))
}

func mergeClone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = mergeClone(sub)
		}
		out[k] = v
	}
	return out
}

func mergeMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
