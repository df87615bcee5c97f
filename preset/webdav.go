package preset

import (
	"net/http"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// WebDAV returns the rules for a WebDAV server (RFC 4918) under prefix.
//
// WebDAV's version is the resource's ETag: a PUT with a stale If-Match is
// answered 412 (RFC 9110 section 13.1.1). Its other conflicts come as bare
// statuses: a PUT or MKCOL whose parent collection does not exist is
// answered 409 Conflict (RFC 4918 sections 9.7.1 and 9.3.1), a locked
// resource 423 Locked (section 11.3), and a MKCOL on a URL that is already
// mapped 405 Method Not Allowed (section 9.3.1).
//
// The rules:
//
//	PUT   {prefix}/{path...}   If-Match/ETag; a stale JSON resource is refreshed with one
//	                           GET and merged (jsonmerge.Merge); a bare 409 is Dependency
//	                           (the missing parent) and aborts
//	MKCOL {prefix}/{path...}   creates a collection: a 405 means it exists, and it is
//	                           adopted (the create has no body: it means "make sure it
//	                           exists"); a bare 409 is Dependency and aborts
//
// A 423 is Locked whatever the endpoint, and is waited out. Adopting a
// collection reads it with GET, which must answer 200 (most servers list
// the collection); a 405 for a URL mapped to a file, not a collection, is
// adopted too, since a GET cannot tell them apart, and the next PUT inside
// it fails with a 409.
func WebDAV(prefix string) []conflict.Option {
	return []conflict.Option{
		conflict.WithRule(pattern(http.MethodPut, prefix, "/{path...}"), conflict.Rule{
			Merge:    jsonmerge.Merge,
			Statuses: map[int]conflict.Kind{http.StatusConflict: conflict.Dependency},
		}),
		conflict.WithRule(pattern("MKCOL", prefix, "/{path...}"), conflict.Rule{
			Creates: true,
			Statuses: map[int]conflict.Kind{
				http.StatusMethodNotAllowed: conflict.Duplicate,
				http.StatusConflict:         conflict.Dependency,
			},
		}),
	}
}
