package preset

import (
	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// CouchDB returns the rules for the CouchDB HTTP API (and servers that
// speak it: pouchdb-server, Cloudant) under prefix.
//
// CouchDB's version is the document's "_rev", in the body: a write must
// carry the current one, and a stale one is answered 409
// {"error":"conflict","reason":"Document update conflict."}, which carries
// neither the current document nor its rev
// (https://docs.couchdb.org/en/stable/api/document/common.html#put--db-docid).
// Creating a database that exists is answered 412
// {"error":"file_exists"}
// (https://docs.couchdb.org/en/stable/api/database/common.html#put--db).
//
// The rules:
//
//	PUT {prefix}/{db}/{id}   version sent and read at /_rev; a stale write is refreshed
//	                         with one GET of the document and merged (jsonmerge.Merge;
//	                         _rev is the precondition, never merged)
//	PUT {prefix}/{db}        creates the database: an existing one is adopted (the create
//	                         has no body: it means "make sure it exists")
//
// CouchDB answers a document created twice (a PUT without _rev on an
// existing id) with the same 409 as a stale write. Such a write carries no
// version and has no base, so it aborts with [conflict.ErrNoBase] and
// overwrites nothing.
func CouchDB(prefix string) []conflict.Option {
	return []conflict.Option{
		conflict.WithRule(pattern("PUT", prefix, "/{db}/{id}"), conflict.Rule{
			Merge:    jsonmerge.Merge,
			Versions: []conflict.Version{{Send: conflict.Field("/_rev")}},
		}),
		conflict.WithRule(pattern("PUT", prefix, "/{db}"), conflict.Rule{Creates: true}),
	}
}
