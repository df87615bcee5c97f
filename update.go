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
// representation the server answered the write with (or the mutated value
// when the server answered without a body).
//
// Members of the representation that T does not model are kept, at every
// depth: the write is the representation read, with the changes mutate made
// to T merged in (see jsonmerge.Typed). When mutate changes nothing, nothing
// is written.
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
	key := queueKey(put.URL)
	deadline := time.Now().Add(elapsed)
	// Every read and write of the loop ends by its deadline.
	ctx, cancel := context.WithDeadline(context.WithValue(ctx, updateKey{}, true), deadline)
	defer cancel()
	var last *Error
	var took time.Duration // how long the last read-modify-write took
	made := 0
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			// Stale: other writers contend for the resource. Waits with
			// full jitter, from the time one read-modify-write takes and
			// growing while conflicts persist, spread the writers out
			// instead of colliding again at once.
			base := max(staleBackoff, took)
			d := retry.FullJitter(base, min(c.limits.BackoffMax, 10*base), attempt-2)
			if time.Now().Add(d).After(deadline) {
				break
			}
			if err := c.cfg.wait(ctx, d); err != nil {
				return zero, err
			}
		}
		began := time.Now()
		made++
		v, done, err := updateTurn(ctx, c, url, key, vs, deadline, mutate)
		took = time.Since(began)
		if done || err == nil {
			return v, err
		}
		var e *Error
		if !errors.As(err, &e) || e.Conflict == nil || e.Conflict.Kind != StaleVersion || !errors.Is(err, errRederive) {
			return zero, err
		}
		last = e
	}
	last.Reason, last.Err, last.Attempts = ErrAttemptsExhausted, nil, made
	return zero, last
}

// updateTurn runs one read-modify-write in the resource's turn: the
// client's other writers to it wait, so they never make it stale.
func updateTurn[T any](ctx context.Context, c *Client, url, key string, vs []Version, deadline time.Time, mutate func(*T) error) (T, bool, error) {
	t := new(turn)
	_, err := c.queue.acquire(ctx, key, deadline, nil, t)
	if err != nil {
		var zero T
		return zero, true, err
	}
	ended := false
	defer func() {
		if !ended {
			t.end() // mutate panicked
		}
	}()
	v, answer, done, err := updateOnce(ctx, c, url, t, vs, mutate)
	// The answer is decoded after the turn ends: the client's next writer
	// to the resource need not wait for it.
	ended = true
	t.end()
	if answer != nil {
		var out T
		if json.Unmarshal(answer, &out) == nil {
			return out, done, err
		}
	}
	return v, done, err
}

// updateOnce runs one read-modify-write. done reports that the result is
// final (including an error that must not be retried); answer is the
// representation the write was answered with, if any, for the caller to
// decode (v is the mutated value, the result when there is none).
func updateOnce[T any](ctx context.Context, c *Client, url string, t *turn, vs []Version, mutate func(*T) error) (v T, answer []byte, done bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return v, nil, true, err
	}
	req.Header.Set("Accept", "application/json")
	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, url, nil)
	creds := credentials(req.URL, nil)
	var read []byte
	var header http.Header
	if last := t.lastFor(creds); last != nil && etagOnly(vs) {
		// The previous Update of this turn left the resource as its PUT
		// answered: a whole representation and its ETag. No need to read
		// it again; if another process wrote since, the PUT is stale and
		// the next attempt reads.
		read, header = last.body, http.Header{"Etag": {last.etag}}
	} else {
		resp, err := c.Do(req)
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
	vals, raws, err := readVersions(header, read, vs)
	if err != nil {
		return v, nil, true, fmt.Errorf("conflict: Update: GET %s: %w; a rule's Versions say where else the version is", redact(req.URL), err)
	}

	var after T
	if err := json.Unmarshal(read, &after); err != nil {
		return v, nil, true, fmt.Errorf("conflict: Update: decoding %s: %w", redact(req.URL), err)
	}
	b0, err := json.Marshal(after) // the representation as T sees it, before mutate
	if err != nil {
		return v, nil, true, err
	}
	if err := mutate(&after); err != nil {
		return v, nil, true, err
	}
	b1, err := json.Marshal(after)
	if err != nil {
		return v, nil, true, err
	}
	if bytes.Equal(b0, b1) {
		return after, nil, true, nil // nothing to write
	}
	// The write is the representation read with mutate's changes applied:
	// members T does not model are kept at every depth (array elements
	// included), numbers mutate did not change keep their exact text, and a
	// member the server spells "Title" is the one T calls "title".
	body := b1
	if !bytes.Equal(b0, bytes.TrimSpace(read)) {
		// The representation is not T's own encoding of it (members T does
		// not model, another order or spelling): apply the changes to it.
		// When it is, the changes applied to it are b1 itself.
		if body, err = jsonmerge.ApplyChanges(b0, b1, read); err != nil {
			return v, nil, true, err
		}
	}
	if body, err = applyVersions(put.Header, put.URL, body, vs, vals, raws); err != nil {
		return v, nil, true, err
	}
	put.Body = io.NopCloser(bytes.NewReader(body))
	put.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	put.ContentLength = int64(len(body))
	put.Header.Set("Content-Type", "application/json")
	sent := c.clock.Add(1)
	resp, err := c.Do(put)
	if err != nil {
		t.s.last = nil // what the turn knew is stale
		return v, nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return v, nil, true, fmt.Errorf("conflict: Update: PUT %s answered %d", redact(put.URL), resp.StatusCode)
	}
	if r := resp.Request; r == nil || r.URL == nil || sameOrigin(r.URL, put.URL) && r.URL.EscapedPath() == put.URL.EscapedPath() {
		// An answer from elsewhere, after a redirect, says nothing of
		// this resource.
		t.keep(resp, http.MethodPut, vs, func() []byte { return body }, creds, put.Header.Get("If-Match"), sent, c.limits.MaxBodyBuffer)
	} else {
		t.s.last = nil
	}
	written, err := readAll(resp.Body, resp.ContentLength, c.limits.MaxBodyBuffer)
	if err != nil || len(bytes.TrimSpace(written)) == 0 {
		return after, nil, true, nil
	}
	return after, written, true, nil
}
