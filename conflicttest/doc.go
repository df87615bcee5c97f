// Package conflicttest provides a real in-process HTTP API server that
// answers writes with every common kind of conflict, for tests, examples and
// demonstrations of clients that must recover from them.
//
// It is to conflict handling what [net/http/httptest] is to HTTP: a [Server]
// listens on a loopback address chosen by the system, behaves like a careful
// production API, and lets a test provoke each conflict on demand:
//
//   - a stale version: 412 Precondition Failed for a failed If-Match, 409
//     Conflict for a stale "version" field in the body;
//   - 428 Precondition Required for an unconditional update;
//   - a duplicate create (409, with the existing resource's id and Location);
//   - an invalid state transition (409, with the current state and the
//     allowed actions);
//   - a dependency conflict: a missing parent or a circular reference (409);
//   - an idempotency key still in flight (409) or reused with a different
//     payload (422), as in the IETF Idempotency-Key draft.
//
// A Server speaks one [Dialect]: RFC 9457 problem details by default, or the
// shapes Kubernetes, CouchDB, Stripe, Google (AIP-193), GoCardless,
// commercetools and Azure Storage use for the same situations, or a plain
// JSON envelope. [Dialects] lists them all for table tests.
//
// [Faults] inject latency, responses dropped after the write committed,
// failures before anything committed, and idempotency keys that stay in
// flight. All randomness comes from a seeded source, so a failing test can
// be replayed exactly.
//
// A typical test:
//
//	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Kubernetes))
//	defer srv.Close()
//	srv.PutDocument("doc1", `{"title":"draft"}`) // version 1
//	srv.PutDocument("doc1", `{"title":"final"}`) // version 2
//
//	req, _ := http.NewRequest("PUT", srv.URL+"/documents/doc1", strings.NewReader(`{"title":"mine"}`))
//	req.Header.Set("If-Match", `"1"`)
//	resp, err := srv.Client().Do(req) // 412, reason "Conflict"
//	...
//	if srv.Stats().Commits != 0 { ... }
//
// # Resources
//
// The API has four collections; bodies are JSON and every reply carries an
// X-Request-Id header.
//
//	GET    /documents/{id}          a JSON object with "version" and ETag: "N"
//	PUT    /documents/{id}          replace (If-Match and/or "version"; If-None-Match: * creates)
//	POST   /documents?name={id}     create or replace document id, as an upload; same preconditions
//	PATCH  /documents/{id}          RFC 7396 merge patch, same preconditions
//	DELETE /documents/{id}          delete, same preconditions
//	POST   /users                   create {"email","name"}; email is unique
//	GET    /users/{id}
//	GET    /users, /users?email=x   {"items":[...]}: all users, or the one with that email
//	POST   /orders                  create {"item"}; state "pending"
//	GET    /orders/{id}
//	POST   /orders/{id}/{action}    pay, ship, deliver or cancel
//	POST   /categories              create {"name","parent"}; the parent must exist
//	GET    /categories/{id}
//	PUT    /categories/{id}         replace {"name","parent"}; no cycles
//
// The Server owns the "version" field of documents: versions start at 1 and
// grow by one with every committed write, whatever the client sent.
//
// # Version locations
//
// [WithVersionIn] says where a write carries its version: If-Match, the
// body's "version" field or both (the default), a query parameter
// ?ifVersionMatch=N as Cloud Storage's ifGenerationMatch ([VersionQuery]), or
// a custom header X-Version: N ([VersionCustomHeader]), where N=0 is a
// conditional create that must not find the document. [WithVersionNames]
// renames the field, parameter and header ("/_rev",
// "/metadata/resourceVersion", "ifGenerationMatch"), so that a Server speaks
// the shape of a known API. [WithWeakETags] gives weak ETags for a moment
// after each write, and [WithBareConflicts] strips conflict bodies, as
// WebDAV servers send them.
//
// # Idempotency keys
//
// Every POST honours an idempotency key header ([WithIdempotencyHeader],
// Idempotency-Key by default), given as a bare token or as the draft's quoted
// sf-string form ("abc"); both spell the same key. The Server fingerprints a
// request as its method, its path and query, and the SHA-256 of its body
// after canonicalising JSON (object keys sorted, insignificant white space
// removed, numbers kept exactly as written); a body that is not JSON is
// hashed as raw bytes. A key that completed with a 2xx reply is replayed,
// with header Idempotent-Replayed: true; a key still in flight is answered
// 409 with Retry-After: 1; a key reused with a different fingerprint is
// answered 422 (400 in the Stripe dialect). A request that ends in an error
// reply (4xx or 5xx) releases its key, so that a corrected retry can use it.
//
// # Inspection
//
// [Server.PutDocument] and [Server.Document] seed and read documents without
// HTTP. [Server.Stats] reports requests per route, commits, creates per unique
// value, the version history of each document and the error replies sent, so
// a test can assert that nothing was lost or doubled.
package conflicttest
