package journal

import (
	"net/http"
	"time"
)

// A Record is one durable intent: a write as it was made, with everything
// needed to send it again after a crash or a long offline spell, and
// nothing that is a credential (see the package documentation).
//
// A Record handed out by a [Store] or a [Journal] is shared: its slices and
// header must not be modified.
type Record struct {
	// ID names the intent uniquely; the Journal makes it (32 hex digits).
	ID string `json:"id"`
	// Seq orders intents: the Store assigns it in Append, one more than any
	// intent it ever held. Writes to one URL are replayed in Seq order.
	Seq uint64 `json:"seq"`
	// Time is when the intent was recorded.
	Time time.Time `json:"time"`
	// Method and URL are the request's. The URL has no user information,
	// no fragment, and no query parameter whose name looks like a
	// credential.
	Method string `json:"method"`
	URL    string `json:"url"`
	// Host is the request's Host when it is not the URL's (a virtual
	// host the request was sent to by address); "" otherwise.
	Host string `json:"host,omitempty"`
	// Header holds the request's headers less credentials, hop-by-hop
	// headers and the idempotency key header.
	Header http.Header `json:"header,omitempty"`
	// Body is the whole request body; nil for none.
	Body []byte `json:"body,omitempty"`
	// IdempotencyKey is the key every send of this intent carries, fixed
	// before the first send: the caller's, or generated for the write.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Base is the representation the write was built on, against which a
	// stale write is merged; nil if unknown.
	Base []byte `json:"base,omitempty"`
}

// A State is where an intent stands.
type State int

const (
	// Pending: the intent has no known outcome yet. It was never sent, or
	// its send ended without an answer (a transport error, a cancelled
	// context) or with an answer that says "later" (408, 429, 502, 503,
	// 504); [Journal.Replay] sends it again.
	Pending State = iota
	// Applied: the server accepted the write (a 2xx), perhaps after a
	// merge or an adoption.
	Applied
	// Rejected: the server answered with a final status that is not a 2xx
	// and not a conflict the client recovers from (a 400, a 404, a 500).
	Rejected
	// Failed: the client gave up on a conflict (a [*conflict.Error]: a
	// merge conflict, an invalid transition...), or the request could not
	// be made at all, or the intent was discarded.
	Failed
)

var stateNames = [...]string{"pending", "applied", "rejected", "failed"}

// String returns the state's lowercase name.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "state(?)"
	}
	return stateNames[s]
}

// MarshalText encodes the state as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name; an unknown name is an error.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if string(b) == n {
			*s = State(i)
			return nil
		}
	}
	return &FormatError{Msg: "unknown state " + string(b)}
}

// An Outcome is what became of an intent: the durable record that it is
// done.
type Outcome struct {
	// State is Applied, Rejected or Failed.
	State State `json:"state"`
	// Status is the HTTP status of the final response; 0 if there was none.
	Status int `json:"status,omitempty"`
	// Result says what the client did, as [conflict.ResultOf] names it:
	// "sent", "waited", "merged", "adopted", "server_won"...
	Result string `json:"result,omitempty"`
	// Kind is the kind of the conflict the client gave up on, if any.
	Kind string `json:"kind,omitempty"`
	// Reason says why the intent failed, in one line.
	Reason string `json:"reason,omitempty"`
	// Time is when the outcome was known.
	Time time.Time `json:"time"`
}

// A Report is what [Journal.Replay] did with one pending intent.
type Report struct {
	// Intent is the intent replayed.
	Intent Record
	// State is where it stands now: Pending if it is still to be sent
	// (Err says why), or its final state.
	State State
	// Status, Result, Kind and Reason are as in [Outcome].
	Status int
	Result string
	Kind   string
	Reason string
	// Err is why the intent failed or is still pending: a
	// [*conflict.Error] (errors.As), a transport error, [ErrClaimed],
	// [ErrBlocked], a context error.
	Err error
	// Base, Ours and Theirs are the three sides of a stale write that could
	// not be merged, when the client knew them.
	Base, Ours, Theirs []byte
}
