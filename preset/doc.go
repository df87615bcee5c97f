// Package preset configures a [conflict.Client] for well-known servers: one
// function per server returns the rules (and reason codes) that say where
// its version travels, where a stale write refreshes from, how it merges and
// what a duplicate create adopts.
//
// Each function takes the URL prefix the server lives under, a path ("/",
// "/couch", "/devstoreaccount1") or a host and path ("storage.example.com/")
// as in an [http.ServeMux] pattern, and returns options to spread into
// [conflict.New] or to append to:
//
//	c := conflict.New(preset.CouchDB("/")...)
//	c := conflict.New(append(preset.AzureBlob("/devstoreaccount1"), conflict.WithLogger(l))...)
//	c := conflict.New(slices.Concat(preset.Kubernetes(""), preset.CouchDB("/couch"))...)
//
// A preset's rules are ordinary [conflict.Rule] values registered with
// [conflict.WithRule]; a later rule with the same pattern makes New panic,
// as for any rule, so to change one, write it by hand instead. Only
// [AzureBlob] sets a classifier (its x-ms-error-code reasons, see
// [AzureBlobReasons]); a later [conflict.WithClassifier] replaces it, so add
// those reasons to your own map.
//
// Merges are JSON merges (package jsonmerge): a preset recovers stale
// writes of JSON documents, and aborts with the server's conflict for a
// body that is not JSON.
package preset

import (
	"strings"
)

// pattern joins a preset's prefix and a path pattern: method + " " +
// prefix without its trailing "/" + path.
func pattern(method, prefix, path string) string {
	return method + " " + strings.TrimSuffix(prefix, "/") + path
}

// trimPrefix returns the part of p after the prefix's path, and whether p
// is under it.
func trimPrefix(p, prefix string) (string, bool) {
	if i := strings.IndexByte(prefix, '/'); i > 0 {
		prefix = prefix[i:] // a host and path: the path
	} else if i < 0 {
		prefix = "" // a host alone
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if !strings.HasPrefix(p, prefix+"/") {
		return "", false
	}
	return p[len(prefix):], true
}
