package preset

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// generation is Cloud Storage's version: sent as ifGenerationMatch, read
// from x-goog-generation.
var generation = conflict.Version{Send: conflict.Query("ifGenerationMatch"), Read: conflict.Header("X-Goog-Generation")}

// GCS returns the rules for Google Cloud Storage's JSON API objects under
// prefix ("" on https://storage.googleapis.com).
//
// Cloud Storage's version is the object's generation, sent as the query
// parameter ifGenerationMatch: an upload whose generation is stale, or
// that says ifGenerationMatch=0 (create only) for an object that exists, is
// answered 412 conditionNotMet, with no current generation
// (https://cloud.google.com/storage/docs/request-preconditions,
// https://cloud.google.com/storage/docs/json_api/v1/objects/insert).
//
// The rules:
//
//	POST   {prefix}/upload/storage/v1/b/{bucket}/o          a media upload (?uploadType=media
//	                                                        &name=...) of a JSON object: a stale
//	                                                        one is refreshed from the object's
//	                                                        media URL .../o/{name}?alt=media
//	                                                        (Rule.Refresh: the upload URL cannot
//	                                                        be read), merged (jsonmerge.Merge) and
//	                                                        sent again with the generation read
//	DELETE {prefix}/storage/v1/b/{bucket}/o/{object...}     ifGenerationMatch; no merge: a stale
//	                                                        delete aborts. Its versions also name
//	                                                        how reads of the object are remembered
//	                                                        as merge bases.
//
// The fresh generation is read from the x-goog-generation header of the
// media download, not from the "generation" member of the object's
// metadata (GET .../o/{object} without alt=media): a merge needs the
// object's content, which the metadata does not hold, and the download
// carries both. A create-only upload (ifGenerationMatch=0) that finds the
// object was built on nothing: give it the empty base,
// conflict.WithBase(ctx, []byte("{}")), to merge into the existing object;
// without a base it aborts with [conflict.ErrNoBase] and overwrites
// nothing.
func GCS(prefix string) []conflict.Option {
	uploads := pattern("POST", prefix, "/upload/storage/v1/b/{bucket}/o")
	return []conflict.Option{
		conflict.WithRule(uploads, conflict.Rule{
			Merge:    jsonmerge.Merge,
			Versions: []conflict.Version{generation},
			Refresh:  func(r *http.Request) string { return gcsMediaURL(r, prefix) },
		}),
		conflict.WithRule(pattern("DELETE", prefix, "/storage/v1/b/{bucket}/o/{object...}"), conflict.Rule{
			Versions: []conflict.Version{generation},
		}),
	}
}

// gcsMediaURL returns the media URL of the object an upload writes:
// {prefix}/storage/v1/b/{bucket}/o/{name}?alt=media, or "" when the upload
// names none (the read then fails and the write aborts).
func gcsMediaURL(r *http.Request, prefix string) string {
	rest, ok := trimPrefix(r.URL.EscapedPath(), prefix)
	name := r.URL.Query().Get("name")
	if !ok || name == "" {
		return ""
	}
	bucketPath, ok := strings.CutPrefix(rest, "/upload/storage/v1/b/")
	if !ok {
		return ""
	}
	bucket, ok := strings.CutSuffix(bucketPath, "/o")
	if !ok || bucket == "" || strings.Contains(bucket, "/") {
		return ""
	}
	base := strings.TrimSuffix(r.URL.EscapedPath(), rest)
	q := url.Values{"alt": {"media"}}
	for k, v := range r.URL.Query() {
		switch k {
		case "userProject": // who pays for the read too
			q[k] = v
		}
	}
	return base + "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(name) + "?" + q.Encode()
}
