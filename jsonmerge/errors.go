package jsonmerge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// A ConflictError reports the paths that both sides of a three-way merge
// changed to different values, with no policy to resolve them. It satisfies
// errors.Is(err, [ErrConflict]).
type ConflictError struct {
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
func (e *ConflictError) Error() string {
	var b strings.Builder
	b.WriteString("jsonmerge: merge conflict")
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

// Is reports whether target is [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// An InvalidJSONError reports that an argument of a merge function is not
// valid JSON (or, for [Typed], cannot be decoded into the type), or is nested
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
		return "jsonmerge: invalid JSON in " + e.Which
	}
	return "jsonmerge: invalid JSON in " + e.Which + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *InvalidJSONError) Unwrap() error { return e.Err }

// parser parses the arguments of one call into pooled memory; done gives
// it back, once nothing refers to the trees (results are always copies).
type parser struct{ bufs [3]*jsonv.Buffer }

func (p *parser) parse(i int, data []byte, which string) (jsonv.Value, error) {
	if p.bufs[i] == nil {
		p.bufs[i] = jsonv.GetBuffer()
	}
	v, err := jsonv.ParseIn(data, p.bufs[i])
	if err != nil {
		return v, newInvalidJSONError(which, err)
	}
	return v, nil
}

func (p *parser) done() {
	for i, b := range p.bufs {
		if b != nil {
			jsonv.PutBuffer(b)
			p.bufs[i] = nil
		}
	}
}

func parseArg(data []byte, which string) (jsonv.Value, error) {
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

func compactArg(data []byte, which string) ([]byte, error) {
	v, err := parseArg(data, which)
	if err != nil {
		return nil, err
	}
	return jsonv.AppendCompact(make([]byte, 0, len(data)), &v), nil
}
