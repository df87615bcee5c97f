package jsonmerge

import (
	"encoding/json"
	"fmt"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// A Func merges a three-way conflict: base is the representation the
// caller read, ours is what it wants to write, and theirs is what the server
// has now. It returns the document to send.
//
// An error aborts recovery. A [*ConflictError], which satisfies
// errors.Is(err, [ErrConflict]), reports the paths both sides changed.
// A Func must be safe for concurrent use; the ones this package returns
// are.
type Func func(base, ours, theirs []byte) ([]byte, error)

// Merge is the default three-way JSON merge, a [Func]. It applies
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
//   - Where both sides changed a value differently, Merge does not pick
//     one: it reports every such path, not only the first, in a
//     [*ConflictError] with the three values. Configure a resolution with
//     [New] and [PathPolicy].
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
// When base and ours are the same bytes Merge returns theirs (compacted),
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
func Merge(base, ours, theirs []byte) ([]byte, error) {
	return defaultMerge.merge(base, ours, theirs)
}

var defaultMerge = &mergeConfig{}

// New returns a three-way JSON merge configured by opts. With no
// options it behaves exactly like [Merge]. The returned function does not
// change when opts are changed later, and it is safe for concurrent use.
func New(opts ...Option) Func {
	c := &mergeConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyMergeOption(c)
		}
	}
	return c.merge
}

// A Option configures [New]. Options are created by
// [KeyedArray], [PathPolicy] and [MergePatchMode]; they never fail at merge
// time.
type Option interface {
	applyMergeOption(*mergeConfig)
}

type mergeConfig struct {
	keyed      []keyedRule
	policies   []policyRule
	mergePatch bool
	// typed is set for Typed's merge, whose base is theirs as a Go type
	// sees it: arrays of equal length in base and theirs correspond element
	// by element, and member names match as encoding/json matches them
	// (exactly, else case-insensitively).
	typed bool
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
func KeyedArray(pointer, idField string) Option {
	return keyedRule{pattern: mustPointer("KeyedArray", pointer), idField: idField}
}

// PathPolicy sets how a conflict at pointer, or anywhere below it, is
// resolved. pointer is a JSON Pointer (RFC 6901) and may use "*" segments as
// in [KeyedArray]; "" covers the whole document.
//
// When several policies cover a conflict, the one with the longest pointer
// wins; among equally long pointers, the one with fewer "*" segments; and
// among those, the one given last. Conflicts no policy covers use [Report].
//
// PathPolicy panics if pointer is not a valid JSON Pointer.
func PathPolicy(pointer string, p Policy) Option {
	pat := mustPointer("PathPolicy", pointer)
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
func MergePatchMode() Option { return mergePatchOption{} }

// A Policy says how to resolve a merge conflict at a path: keep our value
// ([TakeOurs]), keep theirs ([TakeTheirs]), report the conflict ([Report], the
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
	// Report reports the conflict in the [*ConflictError]. It is the zero
	// Policy and the default for every path.
	Report = Policy{}

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
// errors.Is(err, [ErrConflict]) reports the path as a conflict, like
// [Report]; any other error aborts the whole merge and is returned, wrapped, by
// the [Func].
type ResolveFunc func(path string, base, ours, theirs json.RawMessage) (json.RawMessage, error)

// ResolveWith returns a Policy that resolves conflicts by calling f. A nil f
// gives [Report].
func ResolveWith(f ResolveFunc) Policy {
	if f == nil {
		return Report
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

// matchPattern reports whether pattern matches the first len(pattern)
// segments of path.
func matchPattern(pattern, path []string) bool {
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
	best, bestLen, bestWild := Report, -1, 0
	for _, r := range c.policies {
		if !matchPattern(r.pattern, path) {
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
		if len(r.pattern) == len(path) && matchPattern(r.pattern, path) {
			return r.idField, true
		}
	}
	return "", false
}

// mustPointer splits a JSON Pointer into unescaped segments or panics.
func mustPointer(fn, p string) []string {
	segs, err := jsonv.ParsePointer(p)
	if err != nil {
		panic(fmt.Sprintf("jsonmerge: %s: invalid JSON Pointer %q: %v", fn, p, err))
	}
	return segs
}
