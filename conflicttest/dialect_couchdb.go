package conflicttest

import "net/http"

// couchError is CouchDB's {"error","reason"} envelope.
type couchError struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// renderCouchDB spells e as CouchDB does; see [CouchDB]. A stale version
// and a duplicate are the same "conflict", as they are in CouchDB.
func renderCouchDB(e *apiError) *reply {
	b := couchError{Error: e.info().code, Reason: e.detail}
	switch e.kind {
	case kindStale:
		b = couchError{"conflict", "Document update conflict."}
	case kindDuplicate:
		b = couchError{"conflict", "Document update conflict."}
		if e.status == http.StatusPreconditionFailed {
			b = couchError{"file_exists", "The document could not be created, the file already exists."}
		}
	case kindNotFound:
		b = couchError{"not_found", "missing"}
	case kindTooLarge:
		b = couchError{"too_large", "the request entity is too large"}
	case kindUnsupportedMedia:
		b.Error = "bad_content_type"
	case kindUnavailable:
		b.Error = "service_unavailable"
	}
	return jsonReply(e.status, "application/json", b)
}
