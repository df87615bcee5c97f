package preset

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// Elasticsearch returns the rules for Elasticsearch (and OpenSearch)
// documents under prefix.
//
// Elasticsearch's version is the pair of the document's sequence number
// and primary term, sent as the query parameters if_seq_no and
// if_primary_term: a stale write is answered 409
// version_conflict_engine_exception ("required seqNo [..], primary term
// [..]. current document has seqNo [..]"), and a create (_create, or
// op_type=create) of an id that exists 409 with the same type and
// "document already exists"
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/optimistic-concurrency-control.html,
// https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-index_.html).
//
// A GET of a document does not return what a write takes: it wraps the
// document in an envelope, {"_index","_id","_version","_seq_no",
// "_primary_term","found","_source":{...}}, where the versions are. So the
// versions are read from /_seq_no and /_primary_term of GET
// {index}/_doc/{id}, and the merge unwraps _source from the base and the
// current envelope before a JSON merge with the bare document written.
//
// The rules:
//
//	PUT, POST {prefix}/{index}/_doc/{id}     if_seq_no + if_primary_term; a stale write
//	                                         is refreshed with one GET and merged on _source
//	PUT, POST {prefix}/{index}/_create/{id}  a create that finds the id adopts the existing
//	                                         document (read from .../_doc/{id}) when its
//	                                         _source holds everything the create sent; so
//	                                         does an index request with op_type=create
func Elasticsearch(prefix string) []conflict.Option {
	versions := []conflict.Version{
		{Send: conflict.Query("if_seq_no"), Read: conflict.Field("/_seq_no")},
		{Send: conflict.Query("if_primary_term"), Read: conflict.Field("/_primary_term")},
	}
	index := conflict.Rule{
		Merge:    MergeSource,
		Versions: versions,
		Creates:  true, // op_type=create
		// The refresh reads the document alone: a GET refuses the write's
		// parameters (op_type, pipeline, timeout...).
		Refresh:        func(r *http.Request) string { return r.URL.EscapedPath() + sameQuery(r.URL) },
		LocateExisting: esLocate,
		AdoptIf:        esAdoptIf,
	}
	create := conflict.Rule{Creates: true, LocateExisting: esLocate, AdoptIf: esAdoptIf}
	var opts []conflict.Option
	for _, m := range []string{"PUT", "POST"} {
		opts = append(opts,
			conflict.WithRule(pattern(m, prefix, "/{index}/_doc/{id}"), index),
			conflict.WithRule(pattern(m, prefix, "/{index}/_create/{id}"), create))
	}
	return opts
}

// MergeSource is a merge function for stores that read a document wrapped
// in an envelope and write it bare, as Elasticsearch's GET returns
// {"_source":{...}} around what a PUT takes: it unwraps "_source" from base
// and theirs where they have one, and merges with jsonmerge.Merge.
func MergeSource(base, ours, theirs []byte) ([]byte, error) {
	return jsonmerge.Merge(source(base), ours, source(theirs))
}

// source returns the "_source" member of an envelope, or b itself.
func source(b []byte) []byte {
	var env struct {
		Source json.RawMessage `json:"_source"`
		Found  *bool           `json:"found"`
	}
	if json.Unmarshal(b, &env) != nil || len(env.Source) == 0 {
		return b
	}
	return env.Source
}

// esAdoptIf adopts an existing document whose _source holds everything the
// create sent.
func esAdoptIf(sent, existing []byte) bool {
	return sentIsSubset(sent, source(existing))
}

// esLocate reads the existing document of a create at {index}/_doc/{id},
// the only URL that returns it.
func esLocate(_ context.Context, _ *conflict.Conflict, req *http.Request) (string, error) {
	p := req.URL.EscapedPath()
	for _, op := range []string{"/_create/", "/_doc/"} {
		if i := strings.LastIndex(p, op); i > 0 && !strings.Contains(p[i+len(op):], "/") {
			return p[:i] + "/_doc/" + p[i+len(op):] + sameQuery(req.URL), nil
		}
	}
	return "", nil
}

// sameQuery keeps the query parameters that say who reads (none of the
// write's own).
func sameQuery(u *url.URL) string {
	q := url.Values{}
	for k, v := range u.Query() {
		switch k {
		case "routing", "preference":
			q[k] = v
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
