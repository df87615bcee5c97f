package conflict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// A MergeFunc merges a three-way conflict: base is the representation the
// caller read, ours is what it wants to write, and theirs is what the server
// has now. It returns the document to send.
//
// An error aborts recovery. A [*MergeConflictError], which satisfies
// errors.Is(err, [ErrMergeConflict]), reports the paths both sides changed.
// A MergeFunc must be safe for concurrent use; the ones this package returns
// are.
type MergeFunc func(base, ours, theirs []byte) ([]byte, error)

// MergeJSON is the default three-way JSON merge, a [MergeFunc]. It applies
// our changes (base to ours) to theirs and keeps their changes to everything
// we did not touch:
//
//   - Objects merge member by member, recursively. The result lists members
//     in theirs' order, then the members only ours added, in ours' order.
//     Members of theirs that ours does not know are kept.
//   - Arrays are atomic: if both sides changed an array to different values,
//     the array's path conflicts. [KeyedArray] merges arrays of objects by id.
//   - null is a value like any other ([MergePatchMode] changes that).
//   - A member deleted on one side and changed on the other conflicts; a
//     member deleted on both sides stays deleted.
//   - A member both sides added is merged as if base had held an empty
//     object (for two objects) or an empty array (for two keyed arrays);
//     otherwise two different added values conflict.
//   - Where both sides made the same change (equal JSON values) there is no
//     conflict. Values ours left unchanged and changes both sides made alike
//     are written the way theirs writes them (number spelling, string
//     escapes).
//   - Where both sides changed a value differently, MergeJSON does not pick
//     one: it reports every such path, not only the first, in a
//     [*MergeConflictError] with the three values. Configure a resolution with
//     [NewJSONMerge] and [PathPolicy].
//
// For whole documents that are not objects the same rules give: if base
// equals ours, theirs; if base equals theirs, ours; if ours equals theirs,
// theirs; otherwise a conflict at path "" (the whole document).
//
// A document to send that omits a member theirs has deletes that member. So
// if ours leaves out a member the server manages (a version, a timestamp)
// and theirs changed it, that path conflicts; resolve such paths with
// PathPolicy(pointer, [TakeTheirs]).
//
// When base and ours are the same bytes MergeJSON returns theirs (compacted),
// and when base and theirs are the same bytes it returns ours as written
// (compacted), after checking that the arguments are valid JSON.
//
// All merge functions of this package treat JSON text alike:
//
//   - Input must be one valid JSON value (RFC 8259), nested at most 10000
//     deep; anything else is an [*InvalidJSONError] naming the argument.
//   - Numbers keep their exact text: 12345678901234567890, 0.1 and 1e400
//     come out byte for byte as they went in. Two numbers are equal when they
//     denote the same decimal value, so 1, 1.0 and 1e0 are equal (no rounding
//     to float64 happens).
//   - Strings, and member names, are equal when encoding/json would decode
//     them to the same Go string ("\u0041" equals "A"; invalid UTF-8 counts
//     as U+FFFD). A string copied to the output keeps its original bytes.
//   - Duplicate member names in an object: the last value wins, at the
//     position of the first occurrence (as encoding/json and JavaScript's
//     JSON.parse decide). The output never repeats a name.
//   - Output is compact JSON (no whitespace between tokens) with no HTML
//     escaping, and it never shares memory with the arguments.
func MergeJSON(base, ours, theirs []byte) ([]byte, error) {
	return defaultMerge.merge(base, ours, theirs)
}

var defaultMerge = &mergeConfig{}

// NewJSONMerge returns a three-way JSON merge configured by opts. With no
// options it behaves exactly like [MergeJSON]. The returned function does not
// change when opts are changed later, and it is safe for concurrent use.
func NewJSONMerge(opts ...MergeOption) MergeFunc {
	c := &mergeConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyMergeOption(c)
		}
	}
	return c.merge
}

// A MergeOption configures [NewJSONMerge]. Options are created by
// [KeyedArray], [PathPolicy] and [MergePatchMode]; they never fail at merge
// time.
type MergeOption interface {
	applyMergeOption(*mergeConfig)
}

type mergeConfig struct {
	keyed      []keyedRule
	policies   []policyRule
	mergePatch bool
}

type keyedRule struct {
	pattern []string
	idField string
}

func (r keyedRule) applyMergeOption(c *mergeConfig) { c.keyed = append(c.keyed, r) }

type policyRule struct {
	pattern []string
	wild    int // number of "*" segments in pattern
	policy  Policy
}

func (r policyRule) applyMergeOption(c *mergeConfig) { c.policies = append(c.policies, r) }

type mergePatchOption struct{}

func (mergePatchOption) applyMergeOption(c *mergeConfig) { c.mergePatch = true }

// KeyedArray merges the array at pointer as a set of objects identified by
// the member idField, instead of as one atomic value.
//
// pointer is a JSON Pointer (RFC 6901) into the document. A segment that is
// exactly "*" matches any one member name or array index, so
// "/orders/*/lines" names the lines array of every order. (A member literally
// named "*" cannot be singled out.)
//
// Elements are matched by the value of their idField member, which must be a
// string or a number (numbers match by value). Elements one side added are
// kept; an element one side deleted is deleted unless the other side changed
// it (a conflict); an element both sides kept is merged recursively with the
// usual rules. The result lists theirs' elements in theirs' order, then the
// elements only ours added, in ours' order; so a reordering by ours alone is
// not kept unless theirs is unchanged.
//
// The path of a conflict inside such an array uses the element's index in
// theirs (for example "/items/3/price"), or its index in ours when theirs no
// longer has the element. If any of the three arrays holds an element that is
// not an object with a string or number idField, or two elements with the
// same id, the array is merged atomically instead.
//
// KeyedArray panics if pointer is not a valid JSON Pointer, as
// [net/http.ServeMux.Handle] panics on a bad pattern: it is a programming
// error, found at start-up. For the same pointer, the last option wins.
func KeyedArray(pointer, idField string) MergeOption {
	return keyedRule{pattern: mustMergePointer("KeyedArray", pointer), idField: idField}
}

// PathPolicy sets how a conflict at pointer, or anywhere below it, is
// resolved. pointer is a JSON Pointer (RFC 6901) and may use "*" segments as
// in [KeyedArray]; "" covers the whole document.
//
// When several policies cover a conflict, the one with the longest pointer
// wins; among equally long pointers, the one with fewer "*" segments; and
// among those, the one given last. Conflicts no policy covers use [Fail].
//
// PathPolicy panics if pointer is not a valid JSON Pointer.
func PathPolicy(pointer string, p Policy) MergeOption {
	pat := mustMergePointer("PathPolicy", pointer)
	wild := 0
	for _, s := range pat {
		if s == "*" {
			wild++
		}
	}
	return policyRule{pattern: pat, wild: wild, policy: p}
}

// MergePatchMode makes the merge treat an object member whose value is null
// as absent, in all three documents, as an RFC 7396 merge patch does: in ours,
// "name": null means "delete name". Use it for APIs whose documents follow
// merge-patch semantics.
//
// In this mode the result writes "name": null for a member that theirs has
// and the merge deletes, so the result deletes it on the server whether it is
// sent as a full document or as a merge patch. Conflict reports show such
// members as absent (nil). Nulls inside arrays stay values.
func MergePatchMode() MergeOption { return mergePatchOption{} }

// A Policy says how to resolve a merge conflict at a path: keep our value
// ([TakeOurs]), keep theirs ([TakeTheirs]), report the conflict ([Fail], the
// zero Policy), or compute a value ([ResolveWith]). Policies are attached to
// paths with [PathPolicy]. Policy values are comparable.
type Policy struct {
	kind     policyKind
	resolver *mergeResolver
}

type policyKind uint8

const (
	policyFail policyKind = iota
	policyOurs
	policyTheirs
	policyFunc
)

type mergeResolver struct{ f ResolveFunc }

// The fixed policies.
var (
	// Fail reports the conflict in the [*MergeConflictError]. It is the zero
	// Policy and the default for every path.
	Fail = Policy{}

	// TakeOurs resolves a conflict with our value; where ours deleted the
	// value, the result deletes it too.
	TakeOurs = Policy{kind: policyOurs}

	// TakeTheirs resolves a conflict with their value, which is already on
	// the server: our change at that path is dropped.
	TakeTheirs = Policy{kind: policyTheirs}
)

// A ResolveFunc computes the value for a conflicting path. path is a JSON
// Pointer; base, ours and theirs are the compact values at that path, nil
// where the value is absent. It returns the value to use (which must be valid
// JSON), or nil to leave the path absent. Returning an error that satisfies
// errors.Is(err, [ErrMergeConflict]) reports the path as a conflict, like
// [Fail]; any other error aborts the whole merge and is returned, wrapped, by
// the [MergeFunc].
type ResolveFunc func(path string, base, ours, theirs json.RawMessage) (json.RawMessage, error)

// ResolveWith returns a Policy that resolves conflicts by calling f. A nil f
// gives [Fail].
func ResolveWith(f ResolveFunc) Policy {
	if f == nil {
		return Fail
	}
	return Policy{kind: policyFunc, resolver: &mergeResolver{f: f}}
}

// String returns "fail", "ours", "theirs" or "func".
func (p Policy) String() string {
	switch p.kind {
	case policyOurs:
		return "ours"
	case policyTheirs:
		return "theirs"
	case policyFunc:
		return "func"
	}
	return "fail"
}

// A MergeConflictError reports the paths that both sides of a three-way merge
// changed to different values, with no policy to resolve them. It satisfies
// errors.Is(err, [ErrMergeConflict]).
type MergeConflictError struct {
	// Conflicts lists every conflicting path, in the order the merge
	// visits them: depth first, each object's members in theirs' order,
	// then the members only ours has.
	Conflicts []PathConflict
}

// A PathConflict is one conflicting path of a three-way merge.
type PathConflict struct {
	// Path is a JSON Pointer (RFC 6901: "~" is written "~0" and "/" is
	// written "~1"); "" is the whole document. Inside a [KeyedArray] array
	// the index is the element's index in theirs (or in ours, when theirs
	// no longer has it).
	Path string

	// Base, Ours and Theirs are the compact JSON values at Path on each
	// side; nil where the value is absent on that side.
	Base, Ours, Theirs json.RawMessage
}

// Error lists the conflicting paths (the first ten, then a count).
func (e *MergeConflictError) Error() string {
	var b strings.Builder
	b.WriteString("conflict: merge conflict")
	for i, c := range e.Conflicts {
		if i == 10 {
			fmt.Fprintf(&b, " and %d more", len(e.Conflicts)-10)
			break
		}
		if i == 0 {
			b.WriteString(" at ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(c.Path))
	}
	return b.String()
}

// Is reports whether target is [ErrMergeConflict].
func (e *MergeConflictError) Is(target error) bool { return target == ErrMergeConflict }

// An InvalidJSONError reports that an argument of a merge function is not
// valid JSON (or, for [Merge], cannot be decoded into the type), or is nested
// deeper than 10000 levels.
type InvalidJSONError struct {
	// Which names the argument: "base", "ours", "theirs", "doc", "patch",
	// "original", "modified", or "resolution" (a [ResolveFunc]'s result).
	Which string

	// Offset is the byte offset in that argument where the problem was
	// found, or -1 when it is not known.
	Offset int64

	// Err describes the problem.
	Err error
}

// Error describes the problem and names the argument.
func (e *InvalidJSONError) Error() string {
	if e.Err == nil {
		return "conflict: invalid JSON in " + e.Which
	}
	return "conflict: invalid JSON in " + e.Which + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *InvalidJSONError) Unwrap() error { return e.Err }

func parseMergeArg(data []byte, which string) (jsonv.Value, error) {
	v, err := jsonv.Parse(data)
	if err != nil {
		return v, newInvalidJSONError(which, err)
	}
	return v, nil
}

func newInvalidJSONError(which string, err error) error {
	e := &InvalidJSONError{Which: which, Offset: -1, Err: err}
	var se *jsonv.SyntaxError
	var jse *json.SyntaxError
	var jte *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		e.Offset = se.Offset
	case errors.As(err, &jse):
		e.Offset = jse.Offset
	case errors.As(err, &jte):
		e.Offset = jte.Offset
	}
	return e
}

func compactMergeArg(data []byte, which string) ([]byte, error) {
	v, err := parseMergeArg(data, which)
	if err != nil {
		return nil, err
	}
	return jsonv.AppendCompact(make([]byte, 0, len(data)), &v), nil
}

// mustMergePointer splits a JSON Pointer into unescaped segments or panics.
func mustMergePointer(fn, p string) []string {
	segs, err := parseMergePointer(p)
	if err != nil {
		panic(fmt.Sprintf("conflict: %s: invalid JSON Pointer %q: %v", fn, p, err))
	}
	return segs
}

func parseMergePointer(p string) ([]string, error) {
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

// formatMergePointer joins unescaped segments into a JSON Pointer.
func formatMergePointer(segs []string) string {
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

// matchMergePattern reports whether pattern matches the first len(pattern)
// segments of path.
func matchMergePattern(pattern, path []string) bool {
	if len(pattern) > len(path) {
		return false
	}
	for i, s := range pattern {
		if s != "*" && s != path[i] {
			return false
		}
	}
	return true
}

func (c *mergeConfig) policyFor(path []string) Policy {
	best, bestLen, bestWild := Fail, -1, 0
	for _, r := range c.policies {
		if !matchMergePattern(r.pattern, path) {
			continue
		}
		n := len(r.pattern)
		if n > bestLen || (n == bestLen && r.wild <= bestWild) {
			best, bestLen, bestWild = r.policy, n, r.wild
		}
	}
	return best
}

func (c *mergeConfig) keyedAt(path []string) (idField string, ok bool) {
	for i := len(c.keyed) - 1; i >= 0; i-- {
		r := c.keyed[i]
		if len(r.pattern) == len(path) && matchMergePattern(r.pattern, path) {
			return r.idField, true
		}
	}
	return "", false
}

func (c *mergeConfig) merge(base, ours, theirs []byte) ([]byte, error) {
	if bytes.Equal(base, ours) {
		if _, err := parseMergeArg(base, "base"); err != nil {
			return nil, err
		}
		return compactMergeArg(theirs, "theirs")
	}
	if bytes.Equal(base, theirs) {
		if _, err := parseMergeArg(base, "base"); err != nil {
			return nil, err
		}
		return compactMergeArg(ours, "ours")
	}
	b, err := parseMergeArg(base, "base")
	if err != nil {
		return nil, err
	}
	o, err := parseMergeArg(ours, "ours")
	if err != nil {
		return nil, err
	}
	t, err := parseMergeArg(theirs, "theirs")
	if err != nil {
		return nil, err
	}
	m := merger{cfg: c, out: make([]byte, 0, len(theirs)+len(ours)/4+16)}
	m.value(&b, &o, &t)
	if m.err != nil {
		return nil, m.err
	}
	if len(m.conflicts) > 0 {
		return nil, &MergeConflictError{Conflicts: m.conflicts}
	}
	return m.out, nil
}

// merger holds the state of one merge. It writes the result to out as it
// walks the three trees; a nil *jsonv.Value means "absent".
type merger struct {
	cfg       *mergeConfig
	out       []byte
	path      []string
	conflicts []PathConflict
	err       error // first error from a ResolveFunc; aborts the merge
}

func (m *merger) write(v *jsonv.Value) bool {
	if v == nil {
		return false
	}
	m.out = jsonv.AppendCompact(m.out, v)
	return true
}

// value merges one value and reports whether the result is present.
func (m *merger) value(b, o, t *jsonv.Value) bool {
	switch {
	case b != nil && o != nil && bytes.Equal(b.Raw, o.Raw):
		return m.write(t)
	case b == nil && o == nil:
		return m.write(t)
	case b == nil && t == nil:
		return m.write(o)
	}
	mp := m.cfg.mergePatch
	if o != nil && t != nil && o.Kind == t.Kind && (b == nil || b.Kind == o.Kind) {
		switch o.Kind {
		case jsonv.Object:
			return m.object(b, o, t)
		case jsonv.Array:
			if id, ok := m.cfg.keyedAt(m.path); ok {
				// Whole-array checks first, so that a reordering by one
				// side survives when the other side changed nothing.
				if jsonv.Equal(b, o, mp) {
					return m.write(t)
				}
				if jsonv.Equal(b, t, mp) {
					return m.write(o)
				}
				if m.keyedArray(b, o, t, id) {
					return true
				}
			}
		}
	}
	if jsonv.Equal(b, o, mp) {
		return m.write(t)
	}
	if jsonv.Equal(b, t, mp) {
		return m.write(o)
	}
	if jsonv.Equal(o, t, mp) {
		return m.write(t)
	}
	return m.conflict(b, o, t)
}

// member returns the value of an object member, nil when absent (or null in
// merge-patch mode).
func (m *merger) member(x *jsonv.Member) *jsonv.Value {
	if x == nil || (m.cfg.mergePatch && x.Value.Kind == jsonv.Null) {
		return nil
	}
	return &x.Value
}

// object merges three objects; b may be nil (both sides added the member).
func (m *merger) object(b, o, t *jsonv.Value) bool {
	bx, ox, tx := jsonv.NewIndex(b), jsonv.NewIndex(o), jsonv.NewIndex(t)
	m.out = append(m.out, '{')
	n := 0
	for i := range t.Kids {
		tm := &t.Kids[i]
		bv := m.member(bx.Lookup(tm.Key, i))
		ov := m.member(ox.Lookup(tm.Key, i))
		// In merge-patch mode a member theirs has and the merge removes is
		// written as null, so that the result removes it on the server too.
		n = m.mergeMember(n, tm, bv, ov, m.member(tm), m.cfg.mergePatch)
	}
	for i := range o.Kids {
		om := &o.Kids[i]
		if tx.Lookup(om.Key, i) != nil {
			continue
		}
		n = m.mergeMember(n, om, m.member(bx.Lookup(om.Key, i)), m.member(om), nil, false)
	}
	m.out = append(m.out, '}')
	return true
}

// mergeMember writes one member of a merged object and returns the number
// of members written so far.
func (m *merger) mergeMember(n int, key *jsonv.Member, b, o, t *jsonv.Value, nullIfAbsent bool) int {
	mark := len(m.out)
	if n > 0 {
		m.out = append(m.out, ',')
	}
	m.out = append(m.out, key.KeyRaw...)
	m.out = append(m.out, ':')
	m.path = append(m.path, key.Key)
	present := m.value(b, o, t)
	m.path = m.path[:len(m.path)-1]
	if !present {
		if !nullIfAbsent {
			m.out = m.out[:mark]
			return n
		}
		m.out = append(m.out, "null"...)
	}
	return n + 1
}

// keyedArray merges three arrays of objects identified by idField. It
// reports false, having written nothing, when the arrays do not qualify.
func (m *merger) keyedArray(b, o, t *jsonv.Value, idField string) bool {
	_, bIdx, ok := keyedArrayIDs(b, idField)
	if !ok {
		return false
	}
	oKeys, oIdx, ok := keyedArrayIDs(o, idField)
	if !ok {
		return false
	}
	tKeys, tIdx, ok := keyedArrayIDs(t, idField)
	if !ok {
		return false
	}
	elem := func(v *jsonv.Value, idx map[string]int, key string) *jsonv.Value {
		if i, ok := idx[key]; ok {
			return &v.Kids[i].Value
		}
		return nil
	}
	m.out = append(m.out, '[')
	n := 0
	for i := range t.Kids {
		k := tKeys[i]
		n = m.mergeElement(n, i, elem(b, bIdx, k), elem(o, oIdx, k), &t.Kids[i].Value)
	}
	for i := range o.Kids {
		k := oKeys[i]
		if _, ok := tIdx[k]; ok {
			continue
		}
		n = m.mergeElement(n, i, elem(b, bIdx, k), &o.Kids[i].Value, nil)
	}
	m.out = append(m.out, ']')
	return true
}

func (m *merger) mergeElement(n, index int, b, o, t *jsonv.Value) int {
	mark := len(m.out)
	if n > 0 {
		m.out = append(m.out, ',')
	}
	m.path = append(m.path, strconv.Itoa(index))
	present := m.value(b, o, t)
	m.path = m.path[:len(m.path)-1]
	if !present {
		m.out = m.out[:mark]
		return n
	}
	return n + 1
}

// keyedArrayIDs returns the id key of every element of array v and an index from
// key to position. ok is false when v does not qualify as a keyed array. A
// nil v is an empty array.
func keyedArrayIDs(v *jsonv.Value, idField string) (keys []string, idx map[string]int, ok bool) {
	if v == nil {
		return nil, nil, true
	}
	keys = make([]string, len(v.Kids))
	idx = make(map[string]int, len(v.Kids))
	for i := range v.Kids {
		e := &v.Kids[i].Value
		if e.Kind != jsonv.Object {
			return nil, nil, false
		}
		id := e.Get(idField)
		if id == nil {
			return nil, nil, false
		}
		var k string
		switch id.Kind {
		case jsonv.String:
			k = "s" + jsonv.Unquote(id.Raw)
		case jsonv.Number:
			k = "n" + jsonv.NumberKey(id.Raw)
		default:
			return nil, nil, false
		}
		if _, dup := idx[k]; dup {
			return nil, nil, false
		}
		keys[i], idx[k] = k, i
	}
	return keys, idx, true
}

func rawMergeValue(v *jsonv.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	return json.RawMessage(jsonv.AppendCompact(nil, v))
}

func (m *merger) record(b, o, t *jsonv.Value) {
	m.conflicts = append(m.conflicts, PathConflict{
		Path:   formatMergePointer(m.path),
		Base:   rawMergeValue(b),
		Ours:   rawMergeValue(o),
		Theirs: rawMergeValue(t),
	})
}

// conflict resolves a conflict at the current path with the path's policy.
// When the conflict stays, it is recorded and theirs is written as a
// placeholder so the walk can go on and find every other conflict.
func (m *merger) conflict(b, o, t *jsonv.Value) bool {
	p := m.cfg.policyFor(m.path)
	switch p.kind {
	case policyOurs:
		return m.write(o)
	case policyTheirs:
		return m.write(t)
	case policyFunc:
		if m.err != nil {
			return m.write(t)
		}
		path := formatMergePointer(m.path)
		raw, err := p.resolver.f(path, rawMergeValue(b), rawMergeValue(o), rawMergeValue(t))
		if err != nil {
			if !errors.Is(err, ErrMergeConflict) {
				m.err = fmt.Errorf("conflict: resolving merge conflict at %q: %w", path, err)
				return m.write(t)
			}
			break
		}
		if len(raw) == 0 {
			return false
		}
		v, err := jsonv.Parse(raw)
		if err != nil {
			m.err = fmt.Errorf("conflict: resolving merge conflict at %q: %w", path, newInvalidJSONError("resolution", err))
			return m.write(t)
		}
		m.out = jsonv.AppendCompact(m.out, &v)
		return true
	}
	m.record(b, o, t)
	return m.write(t)
}

// MergePatch applies the JSON merge patch patch to doc, as RFC 7396 defines:
// an object patch sets each of its members in doc, recursively, and a
// member whose value is null removes that member; any other patch (an array,
// a string, null, ...) replaces doc entirely.
//
// The result keeps doc's member order, with members the patch adds appended
// in the patch's order, and the exact text of every number. Both arguments
// must be valid JSON; errors are [*InvalidJSONError]s naming "doc" or
// "patch". JSON text is handled as [MergeJSON] describes.
func MergePatch(doc, patch []byte) ([]byte, error) {
	d, err := parseMergeArg(doc, "doc")
	if err != nil {
		return nil, err
	}
	p, err := parseMergeArg(patch, "patch")
	if err != nil {
		return nil, err
	}
	return appendPatched(make([]byte, 0, len(doc)+len(patch)), &d, &p), nil
}

// appendPatched appends the result of applying patch to target (nil when
// absent) to out.
func appendPatched(out []byte, target, patch *jsonv.Value) []byte {
	if patch.Kind != jsonv.Object {
		return jsonv.AppendCompact(out, patch)
	}
	if target != nil && target.Kind != jsonv.Object {
		target = nil
	}
	out = append(out, '{')
	n := 0
	sep := func() {
		if n > 0 {
			out = append(out, ',')
		}
		n++
	}
	px, tx := jsonv.NewIndex(patch), jsonv.NewIndex(target)
	if target != nil {
		for i := range target.Kids {
			tm := &target.Kids[i]
			pm := px.Lookup(tm.Key, i)
			switch {
			case pm == nil:
				sep()
				out = append(out, tm.KeyRaw...)
				out = append(out, ':')
				out = jsonv.AppendCompact(out, &tm.Value)
			case pm.Value.Kind == jsonv.Null:
			default:
				sep()
				out = append(out, tm.KeyRaw...)
				out = append(out, ':')
				out = appendPatched(out, &tm.Value, &pm.Value)
			}
		}
	}
	for i := range patch.Kids {
		pm := &patch.Kids[i]
		if pm.Value.Kind == jsonv.Null || tx.Lookup(pm.Key, i) != nil {
			continue
		}
		sep()
		out = append(out, pm.KeyRaw...)
		out = append(out, ':')
		out = appendPatched(out, nil, &pm.Value)
	}
	return append(out, '}')
}

// CreateMergePatch returns an RFC 7396 merge patch that turns original into
// modified: MergePatch(original, CreateMergePatch(original, modified)) equals
// modified. The patch lists changed and added members in modified's order,
// then removed members (as null) in original's order; nested objects are
// diffed recursively, while arrays and other values are replaced whole. When
// the documents are equal objects the patch is {}. When either document is
// not an object, the patch is modified itself.
//
// A merge patch cannot set a member to null (null means "remove"), so a
// member whose value is null in modified is removed by the patch, as RFC 7396
// section 1 explains. Errors are [*InvalidJSONError]s naming "original" or
// "modified". JSON text is handled as [MergeJSON] describes.
func CreateMergePatch(original, modified []byte) ([]byte, error) {
	o, err := parseMergeArg(original, "original")
	if err != nil {
		return nil, err
	}
	m, err := parseMergeArg(modified, "modified")
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 64)
	if o.Kind != jsonv.Object || m.Kind != jsonv.Object {
		return jsonv.AppendCompact(out, &m), nil
	}
	return appendDiff(out, &o, &m), nil
}

// appendDiff appends the merge patch from object o to object m.
func appendDiff(out []byte, o, m *jsonv.Value) []byte {
	out = append(out, '{')
	n := 0
	ox, mx := jsonv.NewIndex(o), jsonv.NewIndex(m)
	for i := range m.Kids {
		mm := &m.Kids[i]
		om := ox.Lookup(mm.Key, i)
		if om != nil && bytes.Equal(om.Value.Raw, mm.Value.Raw) {
			continue
		}
		mark := len(out)
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, mm.KeyRaw...)
		out = append(out, ':')
		switch {
		case om == nil:
			out = jsonv.AppendCompact(out, &mm.Value)
		case om.Value.Kind == jsonv.Object && mm.Value.Kind == jsonv.Object:
			start := len(out)
			out = appendDiff(out, &om.Value, &mm.Value)
			if len(out) == start+2 { // "{}": nothing changed below
				out = out[:mark]
				continue
			}
		case jsonv.Equal(&om.Value, &mm.Value, false):
			out = out[:mark]
			continue
		default:
			out = jsonv.AppendCompact(out, &mm.Value)
		}
		n++
	}
	for i := range o.Kids {
		om := &o.Kids[i]
		if mx.Lookup(om.Key, i) != nil {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, om.KeyRaw...)
		out = append(out, ":null"...)
		n++
	}
	return append(out, '}')
}

// RebaseMergePatch re-bases the RFC 7396 merge patch patch, written against
// base, onto theirs, the current document. It returns a patch that, applied
// to theirs, makes the patch's changes and keeps theirs' other changes. It
// has the shape of a [MergeFunc] and can serve as one for endpoints that take
// merge patches (PATCH with application/merge-patch+json).
//
// A path the patch sets conflicts when theirs changed it since base to a
// value different from the one the patch produces; a member the patch
// removes conflicts when theirs changed it. Conflicts are reported, all of
// them, in a [*MergeConflictError] whose Ours values are what the patch
// produces at each path (nil for a removal).
//
// Parts of the patch that would undo theirs' work, or that theirs already
// did, are dropped: removing a member that base did not have (theirs may have
// added it since), removing a member theirs already removed, setting a value
// the patch leaves unchanged relative to base where theirs changed it, or
// setting a value theirs already set. Everything else is kept as written.
// When nothing is left, the result is {} (or, for a document that is not an
// object, theirs itself). Errors for bad input are [*InvalidJSONError]s
// naming "base", "patch" or "theirs". JSON text is handled as [MergeJSON]
// describes.
func RebaseMergePatch(base, patch, theirs []byte) ([]byte, error) {
	b, err := parseMergeArg(base, "base")
	if err != nil {
		return nil, err
	}
	p, err := parseMergeArg(patch, "patch")
	if err != nil {
		return nil, err
	}
	t, err := parseMergeArg(theirs, "theirs")
	if err != nil {
		return nil, err
	}
	m := merger{cfg: defaultMerge, out: make([]byte, 0, len(patch)+16)}
	keep := m.rebase(&b, &p, &t)
	if len(m.conflicts) > 0 {
		return nil, &MergeConflictError{Conflicts: m.conflicts}
	}
	if !keep {
		// The patch changes nothing theirs does not already have.
		m.out = m.out[:0]
		if t.Kind == jsonv.Object {
			return append(m.out, "{}"...), nil
		}
		return jsonv.AppendCompact(m.out, &t), nil
	}
	return m.out, nil
}

// rebase writes the re-based form of patch p (never nil) at the current
// path, where base has b and theirs has t (nil when absent). It reports false
// when that part of the patch is dropped; the caller then removes whatever
// was written.
func (m *merger) rebase(b, p, t *jsonv.Value) bool {
	if p.Kind == jsonv.Object && t != nil && t.Kind == jsonv.Object && (b == nil || b.Kind == jsonv.Object) {
		if b != nil && bytes.Equal(b.Raw, t.Raw) {
			return m.write(p)
		}
		bx, tx := jsonv.NewIndex(b), jsonv.NewIndex(t)
		m.out = append(m.out, '{')
		n := 0
		for i := range p.Kids {
			pm := &p.Kids[i]
			bv, tv := m.member(bx.Lookup(pm.Key, i)), m.member(tx.Lookup(pm.Key, i))
			mark := len(m.out)
			if n > 0 {
				m.out = append(m.out, ',')
			}
			m.out = append(m.out, pm.KeyRaw...)
			m.out = append(m.out, ':')
			m.path = append(m.path, pm.Key)
			var keep bool
			if pm.Value.Kind == jsonv.Null {
				switch {
				case bv == nil || tv == nil:
					// Nothing to remove in base (so theirs' member is theirs
					// to keep), or theirs already removed it.
				case jsonv.Equal(bv, tv, false):
					m.out = append(m.out, "null"...)
					keep = true
				default:
					m.record(bv, nil, tv)
				}
			} else {
				keep = m.rebase(bv, &pm.Value, tv)
			}
			m.path = m.path[:len(m.path)-1]
			if keep {
				n++
			} else {
				m.out = m.out[:mark]
			}
		}
		m.out = append(m.out, '}')
		return n > 0
	}
	if jsonv.Equal(b, t, false) {
		return m.write(p) // theirs did not change this path
	}
	intended, _ := jsonv.Parse(appendPatched(nil, b, p))
	if jsonv.Equal(&intended, t, false) || jsonv.Equal(&intended, b, false) {
		// Theirs already made this change, or the patch changes nothing
		// here and theirs' change stands.
		return false
	}
	m.record(b, &intended, t)
	return false
}

// Merge returns a [MergeFunc] that merges typed values. It decodes base,
// ours and theirs into three separate values of type T with encoding/json,
// calls f, and encodes the value f returns.
//
// The encoded result is then applied to theirs as a change: whatever f's
// result changes relative to theirs (as decoded into T and encoded again) is
// written into theirs' own JSON. So members of theirs that T does not model
// are kept, and so is the exact text of numbers f did not change; where f's
// result and theirs disagree, f's result wins.
//
// An argument that encoding/json cannot decode into T gives an
// [*InvalidJSONError]. An error from f is returned as is, so f may return a
// [*MergeConflictError] of its own.
func Merge[T any](f func(base, ours, theirs T) (T, error)) MergeFunc {
	return func(base, ours, theirs []byte) ([]byte, error) {
		var b, o, t T
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, newInvalidJSONError("base", err)
		}
		if err := json.Unmarshal(ours, &o); err != nil {
			return nil, newInvalidJSONError("ours", err)
		}
		if err := json.Unmarshal(theirs, &t); err != nil {
			return nil, newInvalidJSONError("theirs", err)
		}
		// Encode theirs before f runs: f may modify t in place.
		view, err := encodeMergeValue(t)
		if err != nil {
			return nil, err
		}
		r, err := f(b, o, t)
		if err != nil {
			return nil, err
		}
		res, err := encodeMergeValue(r)
		if err != nil {
			return nil, err
		}
		return typedMerge.merge(view, res, theirs)
	}
}

var typedMerge = &mergeConfig{policies: []policyRule{{policy: TakeOurs}}}

func encodeMergeValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("conflict: encoding merge value: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
