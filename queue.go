package conflict

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// resourceQueue lets the writes of one client to one resource go one at a
// time: a client's own writers then never make each other stale, and a
// write that is stale is refreshed and re-sent before the next is sent.
// Writers in other processes still contend; their conflicts are recovered
// as usual.
type resourceQueue struct {
	mu sync.Mutex
	m  map[string]*slot
	// recent is what the last accepted PUT to each resource left, kept
	// after its turn ends, so that a write sent a moment later on an older
	// version is merged onto it too: a snapshot without its body, which is
	// the one the base cache remembered from the answer, if any.
	recent map[string]snapshot
}

// maxRecent bounds resourceQueue.recent; past it, the oldest are forgotten
// all at once.
const maxRecent = 1024

type slot struct {
	ch   chan struct{} // holds a token while a write is under way
	refs int           // the writers holding or awaiting the turn (under the queue's mu)
	// last is the resource as the previous write of the turn left it, kept
	// while other writers wait: the next write merges onto it instead of
	// being sent stale. Only the holder of the token reads or writes it.
	last *snapshot
	// riders are the waiting writes the holder may carry (see fold), under
	// the queue's mu.
	riders []*rider
}

// A snapshot is a whole representation a 2xx write answered with, and its
// strong ETag, as read with one set of credentials. The answer holds or
// follows two states: the version the write was sent on (from), and any
// base remembered before sent, the client's clock just before the send.
type snapshot struct {
	etag, creds, from string
	body              []byte
	sent              uint64
	cached            cachedAt // where the body is, when the base cache has it (see whole)
}

// A turn is one writer's hold on its resource's slot.
type turn struct {
	q   *resourceQueue
	s   *slot
	key string
}

// waiting reports whether other writers wait for the resource.
func (t *turn) waiting() bool {
	t.q.mu.Lock()
	defer t.q.mu.Unlock()
	return t.s.refs > 1
}

// acquire waits for the resource's turn, until ctx is done or the deadline
// passes, and returns the turn; end ends it. While it waits, the write may
// ride with the holder's (prepare, if not nil, makes it a rider): if the
// holder's write carried it and was accepted (or, for an Update, its fate
// is unknown), acquire returns that word and no turn. The turn is tn,
// filled in when it is had; with it comes the word unknown if the write
// was carried in one the server did not accept.
func (q *resourceQueue) acquire(ctx context.Context, key string, deadline time.Time, prepare func() *rider, tn *turn) (*carried, error) {
	q.mu.Lock()
	if q.m == nil {
		q.m = make(map[string]*slot)
	}
	s := q.m[key]
	if s == nil {
		s = slots.Get().(*slot)
		q.m[key] = s
	}
	s.refs++
	q.mu.Unlock()
	*tn = turn{q: q, s: s, key: key}
	select {
	case s.ch <- struct{}{}:
		return nil, nil
	default:
	}
	var rd *rider
	var word <-chan *carried
	var ask <-chan []byte // an Update's: the holder's document to derive on
	if prepare != nil {
		if rd = prepare(); rd != nil {
			q.mu.Lock()
			s.riders = append(s.riders, rd)
			q.mu.Unlock()
			word = rd.out
			if rd.update != nil {
				ask = rd.update.ask
			}
		}
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	var heard *carried // unknown, once a write carried this one unaccepted
	included := false  // an Update's change travels in the holder's write
	for {
		select {
		case doc := <-ask:
			// The holder asks this Update to derive its change on the
			// document it writes: mutate runs here, on the caller's own
			// goroutine.
			included = rd.update.answer(doc, tn)
			ask = nil
		case s.ch <- struct{}{}:
			if rd != nil && !q.unride(s, rd) {
				// Claimed: the holder's word was sent before it let go.
				if c := <-rd.out; c.final() {
					tn.end()
					return c, nil
				} else if c != nil {
					heard = c
				}
			}
			return heard, nil
		case c := <-word:
			if c.final() {
				tn.release()
				return c, nil
			}
			if c != nil {
				heard = c
			}
			rd, word, ask, included = nil, nil, nil, false // not carried: wait for the turn
		case <-ctx.Done():
			// Cancellation ends the wait at once; a claimed write may be
			// at the server with the holder's, as any write cancelled in
			// flight may be, and an Update's error says so.
			err := ctx.Err()
			if !q.leave(s, rd) && rd.update != nil && included {
				err = fmt.Errorf("%w: the update travelled in another update's write, whose answer had not come; whether it was applied is unknown", err)
			}
			tn.release()
			return nil, err
		case <-t.C:
			err := errTurn
			if !q.leave(s, rd) && (rd.update == nil || included) {
				err = errCarriedLate
			}
			tn.release()
			return nil, err
		}
	}
}

// unride takes rd off its slot's riders, unless a holder claimed it
// (then it reports false).
func (q *resourceQueue) unride(s *slot, rd *rider) bool {
	if rd == nil {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if rd.claimed {
		return false
	}
	for i, r := range s.riders {
		if r == rd {
			s.riders = append(s.riders[:i], s.riders[i+1:]...)
			break
		}
	}
	return true
}

// leave takes rd, which stops waiting, off its slot's riders, and reports
// whether it was there still (not claimed by a holder). A claimed Update
// tells the holder it is gone, so that it is not asked, or waited for.
func (q *resourceQueue) leave(s *slot, rd *rider) bool {
	if q.unride(s, rd) {
		return true
	}
	if rd.update != nil {
		close(rd.update.gone)
	}
	return false
}

// ridden reports whether writes wait to ride with the holder's.
func (t *turn) ridden() bool {
	t.q.mu.Lock()
	defer t.q.mu.Unlock()
	return len(t.s.riders) > 0
}

// claim takes up to n of the turn's riders that want accepts, in the
// order they came, for its holder.
func (t *turn) claim(n int, want func(*rider) bool) []*rider {
	t.q.mu.Lock()
	defer t.q.mu.Unlock()
	var out []*rider
	kept := t.s.riders[:0]
	for _, rd := range t.s.riders {
		if len(out) < n && want(rd) {
			rd.claimed = true
			out = append(out, rd)
		} else {
			kept = append(kept, rd)
		}
	}
	clear(t.s.riders[len(kept):])
	t.s.riders = kept
	return out
}

func (t *turn) release() {
	t.q.mu.Lock()
	t.s.refs--
	free := t.s.refs == 0
	if free {
		delete(t.q.m, t.key)
	}
	t.q.mu.Unlock()
	if free {
		// No one holds or awaits the slot: it serves the next resource.
		t.s.last, t.s.riders = nil, nil
		slots.Put(t.s)
	}
}

// slots are the slots of resources no one is writing, for reuse: an
// uncontended write then allocates none.
var slots = sync.Pool{New: func() any { return &slot{ch: make(chan struct{}, 1)} }}

// end ends the turn.
func (t *turn) end() {
	<-t.s.ch
	t.release()
}

// errTurn is returned when a write waited its resource's turn past the
// call's time limit.
var errTurn = fmt.Errorf("%w: waiting for this client's earlier writes to the resource", context.DeadlineExceeded)

// errCarriedLate is returned when a write travelling with another (see
// fold) passed the call's time limit before that write's answer came.
var errCarriedLate = fmt.Errorf("%w: the write was sent with another write to the resource, whose answer did not come in time; whether it was applied is unknown", context.DeadlineExceeded)

// queueKey names the resource a request writes: its URL without user
// information or fragment.
func queueKey(u *url.URL) string {
	r := *u
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	return r.String()
}

// queued reports whether a call's request waits its resource's turn: a
// write other than a create, to an endpoint that has a rule.
func (st *call) queued() bool {
	switch st.orig.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return st.rule != nil && st.out.Value(updateKey{}) == nil
	}
	return false
}

// keep records resp, the 2xx answer to a write of sent, as the resource's
// state for the writers that wait, when it is verifiably whole: a strong
// ETag, and a JSON object with every member the write sent. The body is
// read here (up to limit) and handed on unchanged.
//
// Only the answer to a PUT (a whole replacement) of an endpoint whose
// version is the ETag is kept: the answer to a PATCH may hold only the
// members patched, and a version read elsewhere is not the ETag.
//
// The resource's recent state (see resourceQueue.recent) is recorded here
// too, body aside, whether or not anyone waits.
func (t *turn) keep(resp *http.Response, method string, vs []Version, shows func(answer []byte) bool, creds, from string, sentAt uint64, limit int64) {
	t.s.last = nil
	etag := strongETag(resp.Header)
	if method != http.MethodPut || !etagOnly(vs) || etag == "" {
		t.q.forget(t.key) // the resource changed, and what it is now is not known
		return
	}
	s := snapshot{etag: etag, creds: creds, from: from, sent: sentAt}
	t.q.note(t.key, s)
	if resp.Body == nil || resp.Body == http.NoBody || !t.waiting() {
		return
	}
	if data, ok := bufferBody(resp, limit); ok && shows(data) {
		last := s // allocated here only: s itself stays on the stack
		last.body = data
		t.s.last = &last
	}
}

// bufferBody reads resp's body into memory, up to limit bytes, and hands it
// on unchanged: ok reports the whole body was read. Otherwise what was read
// is handed on before the rest, or before the read's error.
func bufferBody(resp *http.Response, limit int64) (data []byte, ok bool) {
	data, err := readAll(resp.Body, resp.ContentLength, limit+1)
	if err != nil || int64(len(data)) > limit {
		rest := io.Reader(resp.Body)
		if err != nil {
			rest = errReader{err}
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), rest), resp.Body}
		return data, false
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return data, true
}

// mergeOntoLast rebuilds a write that waited its turn onto the state the
// previous write left (last) when the write is built on an older version:
// it is merged there, against its own base, and sent under that state's
// ETag, instead of being sent stale and answered 412. It does nothing
// unless every piece of evidence is there.
//
// What makes it safe is the precondition and the intent, not the guess:
// the server accepts the merged write only while it holds that very state,
// and that state, being the server's current one, follows the write's base;
// if the server moved on, the refresh merges the caller's own write and base
// (st.intent) onto the fresh state, never the merged one, in which a change
// the known state already held would have vanished. Which writes are tried
// is a matter of cost: those whose base is the version the previous write
// was sent on, or was answered before that write was sent, are the ones
// that state follows, so their merged write is not refused.
func (st *call) mergeOntoLast(last *snapshot) {
	if last == nil {
		return
	}
	if st.ifMatch() == last.etag || last.creds != st.creds() {
		return // built on that state already, or read by someone else
	}
	ifMatch, ours, base, seen, ok := st.mergeable()
	if !ok || !last.follows(ifMatch, seen) {
		return
	}
	known, ok := last.whole()
	if !ok || !covers(known, base) {
		return
	}
	next, err := st.rule.Merge(base, ours, known)
	if err != nil || !soundMerge(base, ours, known, next) {
		return // sent as it is: the server's answer decides
	}
	h := st.tmpl.Header.Clone()
	setHeader(h, "If-Match", last.etag)
	st.rebuild(next, h, st.tmpl.URL, known)
	st.intent = &intent{base: base, ours: ours}
	st.emit(Event{Step: StepMerge, Kind: StaleVersion})
}

// note records an accepted write's answer as the resource's recent state.
func (q *resourceQueue) note(key string, s snapshot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.recent == nil || len(q.recent) >= maxRecent {
		q.recent = make(map[string]snapshot)
	}
	q.recent[key] = s
}

// forget drops the resource's recent state: a write left it unknown.
func (q *resourceQueue) forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.recent, key)
}

// lastKnown is the state the previous write to the resource left: the
// turn's snapshot, or else the recent write, whose representation is the
// one the base cache remembered from its answer, if any (see
// snapshot.whole; it is looked up only when needed).
//
// The recent write's snapshot is filled in at buf, the caller's.
func (st *call) lastKnown(buf *snapshot) *snapshot {
	if last := st.tn.s.last; last != nil {
		return last
	}
	q := st.tn.q
	q.mu.Lock()
	s, ok := q.recent[st.tn.key]
	q.mu.Unlock()
	if !ok || st.rule == nil || !etagOnly(st.rule.versions) {
		return nil
	}
	s.cached = cachedAt{c: st.c, u: st.orig.URL, h: st.orig.Header, vs: st.rule.versions}
	*buf = s
	return buf
}

// cachedAt says where the base cache keeps a snapshot's representation.
type cachedAt struct {
	c  *Client
	u  *url.URL
	h  http.Header
	vs []Version
}

// follows reports whether the snapshot is known to hold or follow a base
// read at version ifMatch, remembered at the client's tick seen: the
// version its write was sent on, or a base answered before that send.
func (s *snapshot) follows(ifMatch string, seen uint64) bool {
	return ifMatch == s.from || seen < s.sent
}

// whole returns the snapshot's representation: its own, or the one the
// base cache remembered for its version.
func (s *snapshot) whole() ([]byte, bool) {
	at := &s.cached
	if at.c == nil {
		return s.body, s.body != nil
	}
	vals, _, err := readVersions(http.Header{"Etag": {s.etag}}, nil, at.vs)
	if err != nil {
		return nil, false
	}
	body, _, ok := at.c.bases.get(cacheKey(withoutVersions(at.u, at.vs), at.h, versionKey(vals)))
	return body, ok
}

// lastFor returns the turn's snapshot if it was read with creds.
func (t *turn) lastFor(creds string) *snapshot {
	if t.s.last == nil || t.s.last.creds != creds {
		return nil
	}
	return t.s.last
}

// etagOnly reports whether vs is the ETag precondition alone: sent as
// If-Match, read from ETag.
func etagOnly(vs []Version) bool {
	return len(vs) == 1 && sendsIfMatch(vs) && vs[0].Read.isETag()
}
