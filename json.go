package conflict

import (
	"github.com/go-conflict/conflict/internal/jsonv"
)

// getPointer returns the compact value at the JSON Pointer segs in doc.
func getPointer(doc []byte, segs []string) ([]byte, bool) {
	root, err := jsonv.Parse(doc)
	if err != nil {
		return nil, false
	}
	v := root.At(segs)
	if v == nil {
		return nil, false
	}
	return jsonv.AppendCompact(nil, v), true
}

// dropPointer returns doc with the value at segs set to null, or doc
// unchanged if there is none: what a merge compares without the version.
func dropPointer(doc []byte, segs []string) []byte {
	root, err := jsonv.Parse(doc)
	if err != nil || root.At(segs) == nil {
		return doc
	}
	out, err := jsonv.Set(doc, segs, []byte("null"))
	if err != nil {
		return doc
	}
	return out
}

// jsonEqual reports whether two JSON documents are equal, as the merge
// compares them: objects regardless of member order, numbers by value.
func jsonEqual(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, err := jsonv.Parse(a)
	if err != nil {
		return false
	}
	vb, err := jsonv.Parse(b)
	if err != nil {
		return false
	}
	return jsonv.Equal(&va, &vb, false)
}

// covers reports whether doc is an object that has every member base has,
// at every depth of nested objects: evidence that doc is a whole
// representation of the resource base is one of, not a summary of it.
func covers(doc, base []byte) bool {
	d, err := jsonv.Parse(doc)
	if err != nil || d.Kind != jsonv.Object {
		return false
	}
	b, err := jsonv.Parse(base)
	if err != nil || b.Kind != jsonv.Object {
		return false
	}
	return coversValue(&d, &b)
}

func coversValue(d, b *jsonv.Value) bool {
	if b.Kind != jsonv.Object || d.Kind != jsonv.Object {
		return true
	}
	for i := range b.Kids {
		m := &b.Kids[i]
		dv := d.Get(m.Key)
		if dv == nil || !coversValue(dv, &m.Value) {
			return false
		}
	}
	return true
}
