package conflict

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-conflict/conflict/internal/retry"
	"github.com/go-conflict/conflict/jsonmerge"
)

type updateKey struct{}

// errRederive stops a stale write sent by Update, which re-derives it
// instead of merging it.
var errRederive = errors.New("stale write left to Update to re-derive")

// Update is the typed read-modify-write loop: it reads url with GET,
// decodes the representation into a T, calls mutate on it, and writes the
// result back with PUT under the version it read (If-Match with the ETag,
// or wherever the endpoint's rule says, see [Rule.Versions]). If
// the write is stale, Update reads again and calls mutate again on the
// fresh state: it re-derives the intent rather than re-sending old bytes,
// so mutate must be safe to call more than once. It returns the
// representation the server answered the write with, when that is
// evidently the state the write left (it shows the change); else (no body,
// a summary such as {"ok":true}) the mutated value.
//
// Members of the representation that T does not model are kept, at every
// depth: the write is the representation read, with the changes mutate made
// to T merged in (see jsonmerge.Typed). When mutate changes nothing, nothing
// is written.
//
// Updates of one resource through one client take turns, and those that
// wait travel together: the Update whose turn it is has each waiting one
// call its mutate, on its own goroutine, on the document it is about to
// write (each seeing the changes of those before it), and sends them all
// in one PUT. Each caller gets that PUT's answer. If the server refuses it
// (as stale, or with another 4xx or conflict) without its having been
// applied, each Update goes on as if never carried, the carrying one
// alone; a mutate that fails or panics on the document it was handed is
// left out, and meets its error alone, on the state the server holds. The
// PUT, once sent, is not ended by one caller's cancellation, only by the
// time limit; if its fate is unknown (no answer came), every Update in it
// returns an error saying so. Updates whose context carries an idempotency
// key, or whose version is not the ETag, travel alone.
//
// Update is bounded by the client's attempts and time limits and by ctx.
// An error from mutate is returned as it is; a conflict that is not a stale
// version (an invalid transition, say) or running out of attempts returns an
// [*Error]. So does a write that was answered stale after the transport
// sent it again because an answer was lost: the earlier send may have been
// applied, and calling mutate again would apply the change twice, so Update
// stops with [ErrUnrecoverable] and leaves the caller to read the state.
func Update[T any](ctx context.Context, c *Client, url string, mutate func(*T) error) (T, error) {
	var zero T
	c.init()
	put, err := http.NewRequest(http.MethodPut, url, nil)
	if err != nil {
		return zero, err
	}
	attempts, elapsed, vs := c.limits.MaxAttempts, c.limits.MaxElapsed, etagVersion
	if r := c.rules.match(put); r != nil {
		attempts = cmp.Or(max(r.MaxAttempts, 0), attempts)
		elapsed = cmp.Or(max(r.MaxElapsed, 0), elapsed)
		vs = r.versions
	}
	u := &updating[T]{c: c, url: url, target: put.URL, key: queueKey(put.URL), creds: credentials(put.URL, nil), vs: vs, mutate: mutate}
	u.deadline = time.Now().Add(elapsed)
	// Every read and write of the loop ends by its deadline.
	ctx, cancel := context.WithDeadline(context.WithValue(ctx, updateKey{}, true), u.deadline)
	defer cancel()
	// Updates of the same resource through this client may travel
	// together (see carryUpdates), unless a key names each one's request.
	_, keyed := IdempotencyKeyFrom(ctx)
	u.together = etagOnly(vs) && !keyed
	var last *Error
	var took time.Duration // how long the last read-modify-write took
	made, alone := 0, false
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 && !alone {
			// Stale: other writers contend for the resource. Waits with
			// full jitter, from the time one read-modify-write takes and
			// growing while conflicts persist, spread the writers out
			// instead of colliding again at once.
			base := max(staleBackoff, took)
			d := retry.FullJitter(base, min(c.limits.BackoffMax, 10*base), attempt-2)
			if time.Now().Add(d).After(u.deadline) {
				break
			}
			if err := c.cfg.wait(ctx, d); err != nil {
				return zero, err
			}
		}
		began := time.Now()
		made++
		// Carrying others never takes the last attempt this Update has.
		v, done, err := u.turn(ctx, u.together && !alone && attempt < attempts)
		took = time.Since(began)
		if done || err == nil {
			return v, err
		}
		if errors.Is(err, errCarriedRefused) {
			alone = true // at once, and alone: the refusal may be another's
			continue
		}
		alone = false
		var e *Error
		if !errors.As(err, &e) || e.Conflict == nil || e.Conflict.Kind != StaleVersion || !errors.Is(err, errRederive) {
			return zero, err
		}
		last = e
	}
	if last == nil {
		return zero, fmt.Errorf("conflict: Update: PUT %s: %w after %d attempts", redact(put.URL), ErrAttemptsExhausted, made)
	}
	last.Reason, last.Err, last.Attempts = ErrAttemptsExhausted, nil, made
	return zero, last
}

// updating is one Update call: what each of its read-modify-writes needs.
type updating[T any] struct {
	c               *Client
	url, key, creds string
	target          *url.URL
	vs              []Version
	deadline        time.Time
	mutate          func(*T) error
	together        bool // it may ride with, or carry, other Updates
}

// errCarriedRefused is what an Update gets when the write that carried
// others was refused (a 4xx other than a stale version): the refusal may be
// another's change, so it goes on alone.
var errCarriedRefused = errors.New("the write carrying other updates was refused")

// turn runs one read-modify-write in the resource's turn: the client's
// other writers to it wait, so they never make it stale. While it waits,
// the Update may ride with the holder's (see carryUpdates); holding the
// turn, it may carry the Updates waiting (carry).
func (u *updating[T]) turn(ctx context.Context, carry bool) (T, bool, error) {
	var zero, rode T
	var prepare func() *rider
	if u.together {
		prepare = func() *rider { return newUpdateRider(ctx, u.url, u.creds, u.mutate, &rode) }
	}
	t := new(turn)
	word, err := u.c.queue.acquire(ctx, u.key, u.deadline, prepare, t)
	if err != nil {
		return zero, true, err
	}
	if word.final() {
		// Carried by another Update's write: its answer is this one's.
		if word.err != nil {
			return zero, true, fmt.Errorf("conflict: Update: PUT %s: this update travelled in another update's write, which failed (%w): whether it was applied is unknown", redact(u.target), word.err)
		}
		return answerOr(word.body, rode), true, nil
	}
	ended := false
	defer func() {
		if !ended {
			t.end() // mutate panicked
		}
	}()
	v, answer, done, err := u.once(ctx, t, carry)
	// The answer is decoded after the turn ends: the client's next writer
	// to the resource need not wait for it.
	ended = true
	t.end()
	return answerOr(answer, v), done, err
}

// answerOr decodes answer, the representation a write was answered with,
// into a T; without one, or if it does not decode, it returns v.
func answerOr[T any](answer []byte, v T) T {
	if len(bytes.TrimSpace(answer)) > 0 {
		var out T
		if json.Unmarshal(answer, &out) == nil {
			return out
		}
	}
	return v
}

// derive decodes read into a T, calls mutate on it, and returns the mutated
// value and the representation to write: read with mutate's changes applied
// (members T does not model are kept at every depth, array elements
// included; numbers mutate did not change keep their exact text; a member
// the server spells "Title" is the one T calls "title"), or nil when mutate
// changed nothing.
func derive[T any](read []byte, mutate func(*T) error) (after T, body []byte, err error) {
	if bytes.Equal(bytes.TrimSpace(read), []byte("null")) {
		// It decodes into any T, as T's zero value: writing that back
		// would invent what the server never held.
		return after, nil, &decodeError{errors.New("the representation is null")}
	}
	if err := json.Unmarshal(read, &after); err != nil {
		return after, nil, &decodeError{err}
	}
	b0, err := json.Marshal(after) // the representation as T sees it, before mutate
	if err != nil {
		return after, nil, err
	}
	if err := mutate(&after); err != nil {
		return after, nil, err
	}
	b1, err := json.Marshal(after)
	if err != nil {
		return after, nil, err
	}
	if bytes.Equal(b0, b1) {
		return after, nil, nil // nothing to write
	}
	if bytes.Equal(b0, bytes.TrimSpace(read)) {
		// The representation is T's own encoding: the changes applied to
		// it are b1 itself.
		return after, b1, nil
	}
	// Members T does not model, another order or spelling: apply the
	// changes to the representation.
	body, err = jsonmerge.ApplyChanges(b0, b1, read)
	return after, body, err
}

// A decodeError is a representation that does not decode into T.
type decodeError struct{ error }

func (e *decodeError) Unwrap() error { return e.error }

// once runs one read-modify-write. done reports that the result is final
// (including an error that must not be retried); answer is the
// representation the write was answered with, if any, for the caller to
// decode (v is the mutated value, the result when there is none). With
// carry, the write carries the Updates waiting for the turn.
func (u *updating[T]) once(ctx context.Context, t *turn, carry bool) (v T, answer []byte, done bool, err error) {
	c := u.c
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return v, nil, true, err
	}
	req.Header.Set("Accept", "application/json")
	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, u.url, nil)
	var read []byte
	var header http.Header
	if last := t.lastFor(u.creds); last != nil && etagOnly(u.vs) {
		// The previous Update of this turn left the resource as its PUT
		// answered: a whole representation and its ETag. No need to read
		// it again; if another process wrote since, the PUT is stale and
		// the next attempt reads.
		read, header = last.body, http.Header{"Etag": {last.etag}}
	} else {
		resp, err := c.do(req, sendOwn)
		if err != nil {
			return v, nil, true, err
		}
		read, err = readAll(resp.Body, resp.ContentLength, c.limits.MaxBodyBuffer+1)
		resp.Body.Close()
		if err != nil {
			return v, nil, true, err
		}
		if resp.StatusCode != http.StatusOK {
			return v, nil, true, fmt.Errorf("conflict: Update: GET %s answered %d", redact(req.URL), resp.StatusCode)
		}
		if int64(len(read)) > c.limits.MaxBodyBuffer {
			return v, nil, true, fmt.Errorf("conflict: Update: GET %s: representation larger than %d bytes", redact(req.URL), c.limits.MaxBodyBuffer)
		}
		header = resp.Header
	}
	vals, raws, err := readVersions(header, read, u.vs)
	if err != nil {
		return v, nil, true, fmt.Errorf("conflict: Update: GET %s: %w; a rule's Versions say where else the version is", redact(req.URL), err)
	}
	after, body, err := derive(read, u.mutate)
	if err != nil {
		var de *decodeError
		if errors.As(err, &de) {
			err = fmt.Errorf("conflict: Update: decoding %s: %w", redact(req.URL), de.error)
		}
		return v, nil, true, err
	}
	if body == nil {
		return after, nil, true, nil // nothing to write
	}
	var b *updateBatch
	if carry && t.ridden() {
		b, body = carryUpdates(ctx, t, u.url, u.creds, body)
		defer b.close()
	}
	if body, err = applyVersions(put.Header, put.URL, body, u.vs, vals, raws); err != nil {
		return v, nil, true, err
	}
	put.Body = io.NopCloser(bytes.NewReader(body))
	put.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	put.ContentLength = int64(len(body))
	put.Header.Set("Content-Type", "application/json")
	if b.carries() {
		// Others' changes travel in this write: no one caller's
		// cancellation ends it, only the deadline.
		dl, _ := ctx.Deadline()
		pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl)
		defer cancel()
		put = put.WithContext(pctx)
	}
	if err := put.Context().Err(); err != nil {
		// Past its time limit (or cancelled) while the others derived
		// their changes: nothing is sent, and each goes on alone.
		b.tell(nil)
		return v, nil, true, err
	}
	sent := c.clock.Add(1)
	b.sending()
	resp, err := c.do(put, sendOwn)
	if err != nil {
		t.s.last = nil // what the turn knew is stale
		switch {
		case errors.Is(err, errRederive):
			b.tell(nil) // stale, so not applied: each goes on alone
		case b.carries() && refused(nil, err):
			// Refused, perhaps for another's change: each goes on alone,
			// this one too.
			b.tell(nil)
			return v, nil, false, errCarriedRefused
		default:
			b.tell(&carried{err: err})
		}
		return v, nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		if b.carries() && refused(resp, nil) {
			b.tell(nil)
			return v, nil, false, errCarriedRefused
		}
		err := fmt.Errorf("conflict: Update: PUT %s answered %d", redact(put.URL), resp.StatusCode)
		b.tell(&carried{err: err})
		return v, nil, true, err
	}
	// Whether the answer shows this write is judged once: keep reads the
	// same bytes it hands on.
	var judged []byte
	var shown bool
	shows := func(answer []byte) bool {
		if judged == nil || !bytes.Equal(judged, answer) {
			judged, shown = answer, answerShows(answer, read, body)
		}
		return shown
	}
	if r := resp.Request; r == nil || r.URL == nil || sameOrigin(r.URL, put.URL) && r.URL.EscapedPath() == put.URL.EscapedPath() {
		// An answer from elsewhere, after a redirect, says nothing of
		// this resource.
		t.keep(resp, http.MethodPut, u.vs, shows, u.creds, put.Header.Get("If-Match"), sent, c.limits.MaxBodyBuffer)
	} else {
		t.s.last = nil
	}
	written, err := readAll(resp.Body, resp.ContentLength, c.limits.MaxBodyBuffer)
	if err != nil || !shows(written) {
		// No answer, or not evidently the state this write left (a
		// summary such as {"ok":true}, the old state): each Update returns
		// its own mutated value, not a T decoded from it.
		written = nil
	}
	b.tell(&carried{resp: resp, body: written})
	return after, written, true, nil
}

// newUpdateRider makes an Update waiting for its resource's turn a rider
// that another Update of url may carry: its read-modify-write runs on the
// document that Update writes, and the value mutate leaves goes to after.
func newUpdateRider[T any](ctx context.Context, url, creds string, mutate func(*T) error, after *T) *rider {
	u := &updateRider{url: url, ask: make(chan []byte, 1), reply: make(chan derived, 1), gone: make(chan struct{})}
	u.derive = func(doc []byte) (next []byte, ok bool) {
		defer func() {
			if recover() != nil {
				// Its own read-modify-write, alone, meets the panic on
				// the state the server holds.
				next, ok = nil, false
			}
		}()
		v, body, err := derive(doc, mutate)
		if err != nil {
			// Derived on a state not yet written: alone, it derives again
			// on the state the server holds.
			return nil, false
		}
		*after = v
		if body == nil {
			return doc, true // no change there; it waits for the write all the same
		}
		return body, true
	}
	return &rider{ctx: ctx, creds: creds, out: make(chan *carried, 1), update: u}
}

// An updateBatch is the Updates that one Update's write carries.
type updateBatch struct {
	carried []*rider
	sent    bool // the write may have reached the server
}

// carryUpdates claims the Updates of url waiting for the turn, read with
// the same credentials, and has each one re-derive its change, in turn, on
// doc, the document the holder writes (see updateRider: each runs its
// mutate on its own goroutine while the holder waits, until ctx, the
// holder's, is done): it returns doc with
// every change that derived there. Each rider sees the changes of those
// before it, as it would had they been written one after the other; the
// holder's write is accepted only while the server holds the state the
// holder read, on which they were all derived. A rider whose context is
// done, or whose change does not derive on doc (mutate failed or panicked:
// on a state not yet written, that says nothing) goes on alone.
func carryUpdates(ctx context.Context, t *turn, url, creds string, doc []byte) (*updateBatch, []byte) {
	b := &updateBatch{}
	riders := t.claim(maxRiders, func(rd *rider) bool {
		return rd.update != nil && rd.update.url == url && rd.creds == creds
	})
	for _, rd := range riders {
		if rd.ctx.Err() == nil {
			if d := rd.update.hear(doc, ctx.Done()); d.ok {
				doc = d.next
				b.carried = append(b.carried, rd)
				continue
			}
		}
		rd.out <- nil
	}
	return b, doc
}

// refused reports whether a write's outcome (its answer resp, or the error
// err from Do) is a refusal that applied nothing: a 4xx, or a conflict the
// server answered, when no earlier send of the write may have been applied
// with its answer lost.
func refused(resp *http.Response, err error) bool {
	if err != nil {
		var e *Error
		return errors.As(err, &e) && e.Conflict != nil && !e.lost
	}
	if resp.StatusCode/100 != 4 || resp.Request == nil {
		return false
	}
	rc, _ := resp.Request.Context().Value(resultKey{}).(*resultCtx)
	return rc != nil && !rc.lost
}

// carries reports whether the write carries other Updates.
func (b *updateBatch) carries() bool { return b != nil && len(b.carried) > 0 }

// sending marks the write as possibly at the server.
func (b *updateBatch) sending() {
	if b != nil {
		b.sent = true
	}
}

// tell gives each carried Update its word, once: the answer (each its own
// copy), nil (not applied: it goes on alone), or an error (its fate is
// unknown).
func (b *updateBatch) tell(c *carried) {
	if b == nil {
		return
	}
	tellRiders(b.carried, c)
	b.carried = nil
}

// close tells the carried Updates not yet told, should the holder stop
// early (a panic in a hook): their fate is unknown once the write may have
// been sent.
func (b *updateBatch) close() {
	if !b.sent {
		b.tell(nil)
		return
	}
	b.tell(&carried{err: errors.New("the carrying update stopped before its write was answered")})
}
