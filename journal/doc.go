// Package journal makes the writes of a conflict client durable: each one
// is recorded on disk before it is sent and marked done once its outcome is
// known, so that a write survives a crash of the process or a long spell
// offline, and is sent again later with the idempotency key and the merge
// base it was made with.
//
// Two stories it is for:
//
//   - An edge client edits a document while offline. When it reconnects,
//     its update is stale: someone else changed the document meanwhile.
//     Merging needs the base the edit was made on, which the client only
//     kept in memory. The journal records the base with the write.
//   - A process sends a create and dies before the answer. Its idempotency
//     key died with it, and the restarted process would create twice. The
//     journal records the key before the first send, and the replay sends
//     the same key, so the server answers with the create it already made.
//
// # Use
//
//	client := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
//	j, err := journal.Open("/var/lib/app/writes.journal", client, journal.WithOfflineQueue())
//	if err != nil { ... }
//	defer j.Close()
//	reports, err := j.Replay(ctx) // writes left over from the last run
//	...
//	resp, err := j.Do(req) // as client.Do, but durable
//	if errors.Is(err, journal.ErrQueued) {
//		// offline: the write waits in the journal; a later Replay sends it
//	}
//
// [Journal.Do] records a write (any method but GET, HEAD, OPTIONS and
// TRACE) with its method, URL, body, headers, idempotency key (generated
// here for a write that has none, so it is on disk before the first send,
// and every send of the write carries it, in the client's spelling),
// base and time; sends it through the client with that key and base; and
// records its outcome: Applied, Rejected (a final non-2xx status), or Failed
// (the client gave up on a conflict, with the reason). A transport error
// leaves it Pending. Reads go through the Journal unrecorded, and a
// representation read with a strong ETag is remembered as the base of a
// later write sent with If-Match on that ETag; [WithBase] gives a base
// explicitly.
//
// [Journal.Replay] sends every pending intent again through the client's
// usual recoveries, and returns a [Report] for each. Writes to one URL are
// sent in the order they were made, and a later one waits for an earlier
// one, in Replay and in Do alike.
//
// # No credentials on disk
//
// A journal never holds a credential. The headers Authorization,
// Proxy-Authorization, Cookie and X-Api-Key, and every header whose name
// contains "auth", "token", "secret", "key", "session", "signature",
// "cookie", "password", "passwd", "credential", "csrf" or "xsrf" (see
// [IsCredential]) are not recorded; nor is the user information of the URL,
// nor a query parameter with such a name. The idempotency key is recorded in
// a field of its own, not as a header. The first send of a write is the
// caller's own request, with all its headers; a replayed write carries only
// what was recorded, so credentials must come from the client's transport
// at replay time: an http.RoundTripper given with conflict.WithHTTPClient
// that sets Authorization (an oauth2.Transport, say), or the http.Client's
// cookie Jar.
//
// # Stores
//
// [FileStore] keeps intents in one local file (see [FormatVersion] for its
// format): appended, CRC-checked, synced at every commit, compacted when
// mostly done, and safe against a crash in the middle of a write. A fleet of
// replicas can keep them in its database instead, through the five methods
// of [Store]. On SQL:
//
//	CREATE TABLE journal_intents (
//		seq         BIGSERIAL PRIMARY KEY,        -- Record.Seq
//		id          TEXT UNIQUE NOT NULL,         -- Record.ID
//		record      JSONB NOT NULL,               -- the Record, as encoding/json writes it
//		owner       TEXT,                         -- who holds the claim
//		lease_until TIMESTAMPTZ,                  -- until when
//		outcome     JSONB                         -- NULL while pending
//	);
//	CREATE INDEX journal_pending ON journal_intents (seq) WHERE outcome IS NULL;
//
//	Append:  INSERT INTO journal_intents (id, record) VALUES ($1, $2) RETURNING seq
//	         (set rec.Seq from it; store the record with its seq, or fill it in on read)
//	Claim:   UPDATE journal_intents SET owner = $2, lease_until = now() + $3
//	         WHERE id = $1 AND outcome IS NULL
//	           AND (owner IS NULL OR owner = $2 OR lease_until < now())
//	         -- claimed if one row was updated
//	Done:    UPDATE journal_intents SET outcome = $2 WHERE id = $1 AND outcome IS NULL
//	         -- no row: done already (nil) or unknown (ErrNotFound)
//	Pending: SELECT seq, record FROM journal_intents WHERE outcome IS NULL ORDER BY seq
//
// The lease column is what keeps two replicas from sending one intent at
// once: a replica claims an intent before each send, and a claim runs out
// after the lease ([WithLease]), so that the intents of a replica that died
// are replayed by another. Delete done rows when convenient.
//
// # Outcomes
//
// A write's outcome is known, and recorded, when the server answers (any
// status but 408, 429, 502, 503 and 504, which say "later") or when the
// client gives up on a conflict (a [*conflict.Error]: recorded as Failed,
// with the reason). It is not known after a transport error or a cancelled
// context: the write may or may not have been applied, and it stays
// pending. Sending it again is safe because of what the client does with a
// repeated write: a create carries the same idempotency key, and an update
// that was applied meanwhile comes back as stale and is merged against the
// same base, which changes nothing.
package journal
