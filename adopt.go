package conflict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// adopt returns the existing resource a duplicate create collided with,
// when it is the one this request meant to create.
func (st *call) adopt(resp *http.Response, cf *Conflict) (*http.Response, *stop) {
	if m := st.orig.Method; m != http.MethodPost && m != http.MethodPut {
		return nil, &stop{reason: ErrUnrecoverable, err: errNotCreate}
	}
	loc, err := st.locate(resp, cf)
	if err != nil {
		return nil, &stop{reason: ErrUnrecoverable, err: err}
	}
	if loc == "" {
		return nil, &stop{reason: ErrUnrecoverable, err: errNotFound}
	}
	u, err := st.orig.URL.Parse(loc)
	if err != nil {
		return nil, &stop{reason: ErrUnrecoverable, err: fmt.Errorf("existing resource location: %w", err)}
	}
	r, existing, why := st.read(u)
	if why != nil {
		return nil, why
	}
	var ours []byte
	if st.body.replayable() {
		ours, _ = st.body.read(st.cfg.maxBodyBuffer)
	}
	if !st.same(ours, existing) {
		return nil, &stop{reason: ErrUnrecoverable, err: errForeign, ours: ours, theirs: existing}
	}
	st.res.Outcome = Adopted
	st.emit(Event{Step: StepAdopt, Kind: cf.Kind, Strategy: Adopt, Status: r.StatusCode})
	// The create's answer, as the original create would have given it.
	r.StatusCode, r.Status = http.StatusCreated, "201 Created"
	if r.Header.Get("Location") == "" {
		r.Header.Set("Location", u.String())
	}
	r.Body = io.NopCloser(bytes.NewReader(existing))
	r.ContentLength = int64(len(existing))
	return r, nil
}

// same reports whether existing is what this call meant to create: the
// rule's Same, or defaultSame.
func (st *call) same(ours, existing []byte) bool {
	if st.rule != nil && st.rule.Same != nil {
		return st.rule.Same(ours, existing)
	}
	return defaultSame(st, ours, existing)
}

// defaultSame: the existing resource records this call's key, or has every
// top-level field of the request body with the same value (another process
// created exactly what this request meant to). Fields sent null or "" are
// not compared.
func defaultSame(st *call, ours, existing []byte) bool {
	var ex map[string]json.RawMessage
	if json.Unmarshal(existing, &ex) != nil {
		return false
	}
	if len(st.res.Keys) > 0 {
		for _, k := range []string{"idempotency_key", "idempotencyKey"} {
			if v := jsonString(ex[k]); v != "" && v == st.res.Keys[0] {
				return true
			}
		}
	}
	var want map[string]json.RawMessage
	if json.Unmarshal(ours, &want) != nil || len(want) == 0 {
		return false
	}
	for k, v := range want {
		if t := string(bytes.TrimSpace(v)); t == "null" || t == `""` {
			continue // an empty field says nothing of what was meant
		}
		if !jsonEqual(v, ex[k]) {
			return false
		}
	}
	return true
}

// locate finds the URL of the resource a duplicate collided with.
func (st *call) locate(resp *http.Response, cf *Conflict) (string, error) {
	if st.rule != nil && st.rule.Lookup != nil {
		return st.rule.Lookup(st, cf, st.orig)
	}
	if cf.ExistingLocation != "" {
		return cf.ExistingLocation, nil
	}
	if cf.ExistingID != "" && st.orig.Method == http.MethodPost {
		return strings.TrimSuffix(st.orig.URL.Path, "/") + "/" + url.PathEscape(cf.ExistingID), nil
	}
	if st.orig.Method == http.MethodPut {
		return st.orig.URL.String(), nil // a create by PUT names its resource
	}
	return "", nil
}
