package journal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/google/uuid"
)

// Defaults of a [Journal].
const (
	// DefaultLease is how long a claim on an intent lasts: longer than a
	// client spends on one call (conflict.DefaultMaxElapsed and transport
	// retries), so that no other replica sends an intent while this one
	// still does.
	DefaultLease = 2 * time.Minute
	// DefaultMaxBody is the largest request body a Journal records.
	DefaultMaxBody = 1 << 20
	// DefaultReplayConcurrency is how many URLs Replay sends to at once.
	DefaultReplayConcurrency = 4
	// DefaultIdempotencyHeader is the header a Journal reads a caller's
	// idempotency key from.
	DefaultIdempotencyHeader = "Idempotency-Key"
)

// Errors of a Journal.
var (
	// ErrQueued: the server could not be reached, and the write waits in
	// the journal for [Journal.Replay]. Do returns it (as a
	// [*PendingError]) only with [WithOfflineQueue].
	ErrQueued = errors.New("journal: the server cannot be reached; the write is queued")
	// ErrClaimed: another sender holds the intent (a replica's lease, or a
	// send in this process), or it was finished meanwhile.
	ErrClaimed = errors.New("journal: the intent is claimed by another sender or already done")
	// ErrBlocked: an earlier intent on the same URL is still pending; a
	// later one waits for it.
	ErrBlocked = errors.New("journal: an earlier intent on the same URL is still pending")
	// ErrTooLarge: the request body is larger than the journal records
	// ([WithMaxBody]); nothing was recorded or sent.
	ErrTooLarge = errors.New("journal: request body too large to record")
)

// A PendingError is what [Journal.Do] returns for a write it recorded but
// whose outcome is not known: the server could not be reached, the context
// ended, or an earlier write on the same URL is still pending. The intent
// stays in the journal and [Journal.Replay] sends it.
type PendingError struct {
	// ID and Seq identify the intent, as in its [Record].
	ID  string
	Seq uint64
	// Queued reports that the write was queued because the server could
	// not be reached ([WithOfflineQueue]); errors.Is(err, [ErrQueued])
	// then holds.
	Queued bool
	// Err is the cause: a transport error, a context error, [ErrBlocked],
	// or a response status that says "later".
	Err error
}

// Error describes the pending write and its cause.
func (e *PendingError) Error() string {
	what := "pending"
	if e.Queued {
		what = "queued"
	}
	return fmt.Sprintf("journal: intent %s (seq %d) %s: %v", e.ID, e.Seq, what, e.Err)
}

// Unwrap returns the cause.
func (e *PendingError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrQueued) hold for a queued write.
func (e *PendingError) Is(target error) bool { return target == ErrQueued && e.Queued }

// A StatusError is the cause of a [PendingError] for a response whose
// status says "try later": 408, 429, 502, 503 or 504.
type StatusError struct {
	Status int // the HTTP status code
}

// Error names the status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

// A Journal records each write durably before it is sent through a
// conflict client, and marks it done once its outcome is known, so that a
// write survives a crash or a long offline spell and is sent again, with
// its own idempotency key and merge base, by [Journal.Replay].
//
// A Journal is safe for concurrent use.
type Journal struct {
	store  Store
	client *conflict.Client
	cfg    config

	mu     sync.Mutex
	index  map[string]*Record // pending intents known to this Journal, by id
	urls   map[string]*urlLock
	closed bool
}

type urlLock struct {
	ch   chan struct{}
	refs int
}

// New returns a Journal that records intents in store and sends them
// through client. It reads the store's pending intents, but does not send
// them: call [Journal.Replay] for that.
func New(store Store, client *conflict.Client, opts ...Option) (*Journal, error) {
	if store == nil || client == nil {
		return nil, errors.New("journal: New needs a store and a client")
	}
	cfg := config{}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.lease <= 0 {
		cfg.lease = DefaultLease
	}
	if cfg.keyHeader == "" {
		cfg.keyHeader = DefaultIdempotencyHeader
	}
	if cfg.maxBody < 1 {
		cfg.maxBody = DefaultMaxBody
	}
	if cfg.workers < 1 {
		cfg.workers = DefaultReplayConcurrency
	}
	if cfg.order == nil {
		cfg.order = func(r *Record) string { return r.URL }
	}
	if cfg.owner == "" {
		cfg.owner = "journal-" + newID()
	}
	j := &Journal{store: store, client: client, cfg: cfg,
		index: map[string]*Record{}, urls: map[string]*urlLock{}}
	recs, err := store.Pending(context.Background())
	if err != nil {
		return nil, err
	}
	for i := range recs {
		j.index[recs[i].ID] = &recs[i]
	}
	return j, nil
}

// Open opens (or creates) the journal file at path with [OpenFile] and
// returns a Journal on it; Close closes the file. When the file has damaged
// records, Open returns the Journal together with the [*CorruptError]
// (errors.Is(err, [ErrCorrupt])): it holds every intact record and may be
// used.
func Open(path string, client *conflict.Client, opts ...Option) (*Journal, error) {
	fs, ferr := OpenFile(path)
	if fs == nil {
		return nil, ferr
	}
	j, err := New(fs, client, opts...)
	if err != nil {
		fs.Close()
		return nil, err
	}
	return j, ferr
}

// Store returns the Journal's store.
func (j *Journal) Store() Store { return j.store }

// Close closes the Journal and its store. Sends under way finish; their
// outcomes may not be recorded, and Replay sends them again.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	return j.store.Close()
}

// Pending returns the pending intents, in Seq order.
func (j *Journal) Pending(ctx context.Context) ([]Record, error) {
	return j.store.Pending(ctx)
}

// Do sends req through the client, as (*conflict.Client).Do does, and
// records it first if it is a write: any method but GET, HEAD, OPTIONS and
// TRACE.
//
// A write is recorded durably before it is sent: its method, URL and body,
// its headers less credentials, its idempotency key and its base, and the
// time. The key is the caller's (the idempotency header, or
// [WithIdempotencyKey]) or one generated here, so that the key is on disk
// before the first send; every send carries it in the client's spelling. The base is the caller's
// ([WithBase]) or, for a write with If-Match, the representation with that
// ETag that this Journal last read (or wrote) at the same URL. Earlier
// pending writes to the same URL are sent first, in order.
//
// The write is then sent with its key and base, and marked done with its
// outcome as soon as that is known: a response (any status but 408, 429,
// 502, 503 and 504, which leave it pending), or a [*conflict.Error] (the
// client gave up on a conflict: recorded as Failed with the reason, and
// returned). A transport error or an ended context leaves it pending and
// returns a [*PendingError] wrapping the cause (errors.Is(err, [ErrQueued])
// with [WithOfflineQueue]).
//
// Reads are sent as they are, through the client, which remembers what it
// read at its rules' URLs: a write built on such a read is recorded with
// that base ([conflict.Client.BaseFor]).
func (j *Journal) Do(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		if req != nil && req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("journal: nil request or URL")
	}
	if !isWrite(req.Method) {
		return j.client.Do(req)
	}
	if j.isClosed() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, ErrClosed
	}
	ctx := req.Context()
	body, err := readBody(req, j.cfg.maxBody)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		ID:     newID(),
		Time:   time.Now().UTC(),
		Method: req.Method,
		URL:    storedURL(req.URL),
		Header: storedHeader(req.Header, j.cfg.keyHeader),
		Body:   body,
	}
	if req.Host != "" && req.Host != req.URL.Host {
		rec.Host = req.Host
	}
	rec.IdempotencyKey = headerKey(req.Header.Get(j.cfg.keyHeader))
	if rec.IdempotencyKey == "" {
		rec.IdempotencyKey = callerKey(ctx)
	}
	if rec.IdempotencyKey == "" {
		// Every write gets a key on disk before its first send, so that a
		// replay is the same request to a server that honours keys: not
		// only a create, but a PATCH, or a write whose rule has the client
		// make a key of its own (which no replay could know). A random
		// UUID, as the client makes its own.
		rec.IdempotencyKey = uuid.NewString()
	}
	rec.Base = callerBase(ctx)
	if rec.Base == nil {
		rec.Base = clientBase(j.client, req, body)
	}
	// The URL's lock is taken first, so that no Replay sends this intent
	// while Do does; earlier pending writes to the URL go first.
	unlock, err := j.lockURL(ctx, j.cfg.order(rec))
	if err != nil {
		return nil, fmt.Errorf("journal: nothing was recorded or sent: %w", err)
	}
	defer unlock()
	if err := j.store.Append(ctx, rec); err != nil {
		return nil, fmt.Errorf("journal: recording the intent (nothing was sent): %w", err)
	}
	j.track(rec)
	if err := j.sendEarlier(ctx, rec); err != nil {
		return nil, j.pending(ctx, rec, err)
	}

	out := req.Clone(sendContext(ctx, rec.IdempotencyKey, rec.Base))
	// The key goes out as every replay sends it, in the client's spelling
	// (a caller's quoted "k" and a replay's bare k are two keys to a
	// server that compares them as sent).
	delKey(out.Header, j.cfg.keyHeader)
	setBody(out, body)
	resp, rep := j.send(ctx, rec, out)
	if rep.State == Pending {
		var se *StatusError
		if resp != nil && !(j.cfg.offline && errors.As(rep.Err, &se) && se.Status >= 500) {
			return resp, nil // a "later" status: the caller sees it, the intent stays
		}
		drainClose(resp)
		return nil, j.pending(ctx, rec, rep.Err)
	}
	if rep.Err != nil {
		return nil, rep.Err
	}
	return resp, nil
}

// pending returns the error of a write left pending by err.
func (j *Journal) pending(ctx context.Context, rec *Record, err error) error {
	queued := false
	if j.cfg.offline && ctx.Err() == nil {
		var se *StatusError
		queued = isTransport(err) || errors.Is(err, ErrBlocked) || (errors.As(err, &se) && se.Status >= 500)
	}
	return &PendingError{ID: rec.ID, Seq: rec.Seq, Queued: queued, Err: err}
}

// isTransport reports whether err says the server could not be reached
// (or did not answer): a network error, as http.Client returns it.
func isTransport(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

// sendEarlier sends the pending intents on rec's URL recorded before rec,
// in order. It returns ErrBlocked (wrapping the cause) if one stays pending.
func (j *Journal) sendEarlier(ctx context.Context, rec *Record) error {
	earlier, err := j.earlier(ctx, rec)
	if err != nil {
		return fmt.Errorf("%w: listing the earlier writes to the URL: %w", ErrBlocked, err)
	}
	for _, e := range earlier {
		_, rep := j.send(ctx, e, nil)
		if rep.State == Pending {
			return fmt.Errorf("%w: intent %s: %w", ErrBlocked, e.ID, rep.Err)
		}
	}
	return nil
}

// earlier lists the pending intents on rec's URL with a smaller Seq, from
// the Store: other Journals (replicas) sharing it may have recorded them,
// and theirs must go first too.
func (j *Journal) earlier(ctx context.Context, rec *Record) ([]*Record, error) {
	key := j.cfg.order(rec)
	all, err := j.store.Pending(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for i := range all {
		if r := &all[i]; j.cfg.order(r) == key && r.Seq < rec.Seq {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Record) int { return cmpSeq(a.Seq, b.Seq) })
	return out, nil
}

// send sends one intent: out if given (the caller's own request, at the
// first send), or a request rebuilt from the record. It records the
// outcome when it is known. The response is returned, unread, for any
// answer but an abort; the Report says what became of the intent.
func (j *Journal) send(ctx context.Context, rec *Record, out *http.Request) (*http.Response, Report) {
	rep := Report{Intent: *rec, State: Pending}
	ok, err := j.store.Claim(ctx, rec.ID, j.cfg.owner, j.cfg.lease)
	if err != nil {
		rep.Err = err
		return nil, rep
	}
	if !ok {
		rep.Err = ErrClaimed
		return nil, rep
	}
	if out == nil {
		if out, err = rebuild(ctx, rec); err != nil {
			rep.Err = err
			return nil, rep
		}
	}
	stop := j.holdClaim(rec.ID)
	resp, err := j.client.Do(out)
	stop()
	if err != nil {
		a, ok := asAbort(err)
		if !ok {
			rep.Err = err // a transport error, an ended context: unknown
			return nil, rep
		}
		rep.Kind, rep.Reason, rep.Base, rep.Ours, rep.Theirs = a.kind, a.reason, a.base, a.ours, a.theirs
		rep.Err = err
		o := Outcome{State: Failed, Kind: a.kind, Reason: a.reason, Result: "aborted", Time: time.Now().UTC()}
		if derr := j.done(rec, o); derr != nil {
			rep.Err = fmt.Errorf("journal: intent %s failed (%w), and its outcome could not be recorded: %w", rec.ID, err, derr)
			return nil, rep
		}
		rep.State = Failed
		return nil, rep
	}
	rep.Status, rep.Result = resp.StatusCode, resultName(resp)
	if later(resp.StatusCode) {
		rep.Err = &StatusError{Status: resp.StatusCode}
		return resp, rep
	}
	o := Outcome{State: Applied, Status: resp.StatusCode, Result: rep.Result, Time: time.Now().UTC()}
	if resp.StatusCode/100 != 2 {
		o.State = Rejected
		o.Reason = fmt.Sprintf("the server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		rep.Reason = o.Reason
	} else if code, moved := redirectedAway(resp, rec.Method); moved {
		// The 2xx answers the GET a redirect turned the write into: the
		// write itself was answered with the redirect. Only 303 See Other
		// says it was handled.
		o.Status = code
		if code != http.StatusSeeOther {
			o.State = Rejected
			o.Reason = fmt.Sprintf("the server answered %d %s, and the write was not sent on", code, http.StatusText(code))
			rep.Reason = o.Reason
		}
	}
	if derr := j.done(rec, o); derr != nil {
		drainClose(resp)
		rep.Err = fmt.Errorf("journal: intent %s was answered %d, but its outcome could not be recorded: %w", rec.ID, resp.StatusCode, derr)
		return nil, rep
	}
	rep.State = o.State
	return resp, rep
}

// done records an outcome and forgets the intent.
func (j *Journal) done(rec *Record, o Outcome) error {
	// The outcome is known: record it even if the caller's context ended
	// the moment the answer came.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.store.Done(ctx, rec.ID, o); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	j.mu.Lock()
	delete(j.index, rec.ID)
	j.mu.Unlock()
	return nil
}

// later reports whether a status says "try again later" rather than
// giving the write's outcome.
func later(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// redirectedAway reports whether resp answers a request that a redirect
// made of a write of method (net/http turns a write answered 301, 302 or
// 303 into a GET), and the status of the redirect the write itself got.
func redirectedAway(resp *http.Response, method string) (int, bool) {
	r := resp.Request
	if r == nil || r.Method == method {
		return 0, false
	}
	code := 0
	for ; r != nil && r.Response != nil; r = r.Response.Request {
		code = r.Response.StatusCode // back to the first redirect
		if r.Response.Request != nil && r.Response.Request.Method == method {
			break
		}
	}
	return code, true
}

// holdClaim renews the claim on intent id while its send runs, so that no
// other replica claims it when the lease passes mid-send and sends it, or
// a later write to its URL, while this send may still land. It returns the
// function that stops the renewals.
func (j *Journal) holdClaim(id string) (stop func()) {
	every := j.cfg.lease / 3
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				// A failed renewal leaves the claim to run out: the send
				// goes on, as any send past its lease would.
				_, _ = j.store.Claim(context.Background(), id, j.cfg.owner, j.cfg.lease)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
