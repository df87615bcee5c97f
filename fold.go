package conflict

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxRiders bounds how many queued writes one write carries.
const maxRiders = 64

// A rider is a write waiting for its resource's turn that the holder of
// the turn may carry in its own write: its change is merged into the
// holder's, and one request sends both. What the holder needs is fixed
// before the rider waits; out receives the holder's word, once.
type rider struct {
	ctx                  context.Context
	host, ifMatch, creds string
	header               http.Header
	base, ours           []byte
	seen                 uint64 // the base's stamp on the client's clock
	claimed              bool   // under the queue's mu: a holder took it
	out                  chan *carried
	// update is set for an [Update] waiting its turn (see carryUpdates): it
	// is carried by another Update only, which runs its read-modify-write
	// on the document that Update writes. Nil for a write through Do.
	update *updateRider
}

// An updateRider is what an [Update] waiting for its turn offers the holder
// (its context is the rider's): the URL it writes, and a hand-off in which
// its change is derived on the document the holder writes. The holder sends
// that document on ask; the rider, on its own goroutine, re-derives its
// change there (derive, which runs its mutate) and answers on reply: the
// document with the change, or ok false (the change could not be derived
// there, and the Update goes on alone). A rider that stops waiting (its
// context done, its deadline passed) closes gone instead of answering.
type updateRider struct {
	url    string
	derive func(doc []byte) (next []byte, ok bool)
	ask    chan []byte  // holder to rider: at most one document
	reply  chan derived // rider to holder: at most one answer
	gone   chan struct{}
}

// derived is a rider's answer to the holder's ask.
type derived struct {
	next []byte
	ok   bool
}

// answer re-derives the rider's change on doc, on the rider's goroutine,
// and answers the holder. It reports whether the change travels with the
// holder's write. A mutate that ends the goroutine (runtime.Goexit, as
// t.FailNow does) is answered ok false on its way out, and the wait's
// share of the turn (tn) is given back.
func (u *updateRider) answer(doc []byte, tn *turn) bool {
	answered := false
	defer func() {
		if !answered {
			u.reply <- derived{}
			tn.release()
		}
	}()
	next, ok := u.derive(doc)
	answered = true
	u.reply <- derived{next, ok}
	return ok
}

// hear is the holder's side of the hand-off: it sends doc to the rider and
// returns the rider's answer, or ok false if the rider stopped waiting
// without one, or if late (the holder's own end) comes first: a mutate
// that blocks, perhaps on the holder's own caller, holds the holder no
// longer than its time limit. A rider not heard is told nil, and goes on
// alone.
func (u *updateRider) hear(doc []byte, late <-chan struct{}) derived {
	u.ask <- doc
	select {
	case d := <-u.reply:
		return d
	case <-u.gone:
	case <-late:
	}
	// An answer sent before the rider left is in reply already.
	select {
	case d := <-u.reply:
		return d
	default:
		return derived{}
	}
}

// carried is a holder's word to a rider whose change its write carried and
// the server accepted: that write's answer, its body in memory. A nil word
// says the change was never sent; the word unknown, that the write carrying
// it was sent and not accepted, or its fate is unknown. Either way the rider
// goes on with its own write, whose precondition (and, after unknown, the
// recovery's check for an applied change) keeps it from being lost or
// doubled.
type carried struct {
	resp *http.Response
	body []byte
	err  error // for an Update carried in a write whose fate is unknown: why
}

// unknown is the word for a change sent with a write the server did not
// accept, or whose answer never came.
var unknown = new(carried)

// final reports whether the word ends the rider's wait: an accepted write
// carried it, or (for an Update, which cannot check whether its change was
// applied) one whose fate is unknown.
func (c *carried) final() bool { return c != nil && (c.resp != nil || c.err != nil) }

// own is a holder's own write, kept while it carries others.
type own struct {
	body body
	tmpl *http.Request
}

// mergeable returns what merging the call's write elsewhere needs: a PUT
// of a JSON document, replayable, to an endpoint merged with an ETag
// precondition, with one If-Match and a known base.
func (st *call) mergeable() (ifMatch string, ours, base []byte, seen uint64, ok bool) {
	r := st.rule
	if r == nil || r.Merge == nil || r.Resolve != ResolveMerge || !etagOnly(r.versions) ||
		st.orig.Method != http.MethodPut || !st.body.replayable() {
		return "", nil, nil, 0, false
	}
	vs := headerValues(st.tmpl.Header, "If-Match")
	if len(vs) != 1 {
		return "", nil, nil, 0, false
	}
	ours, err := st.body.read(st.c.limits.MaxBodyBuffer)
	if err != nil || !json.Valid(ours) {
		return "", nil, nil, 0, false
	}
	base, seen, ok = st.baseFor(ours)
	return vs[0], ours, base, seen, ok
}

// asRider makes the call a rider, or returns nil when it cannot be one. A
// write with an idempotency key is sent as itself: the key names its
// request.
func (st *call) asRider() *rider {
	ifMatch, ours, base, seen, ok := st.mergeable()
	if !ok || st.out.res.IdempotencyKey != "" {
		return nil
	}
	return &rider{ctx: st.out, host: st.tmpl.Host, ifMatch: ifMatch, creds: st.creds(),
		header: st.tmpl.Header, base: base, ours: ours, seen: seen, out: make(chan *carried, 1)}
}

// fold merges the changes of the writes waiting for the turn into the
// holder's write, when each is known to be built on the state the holder's
// write is sent onto or an older one, with the same headers and
// credentials. A rider whose change does not merge goes on alone: its own
// write meets the conflict, and fails alone. The holder keeps its own
// write, to go on with should the server not accept the carried one.
//
// A carried write is accepted only while the server holds the state its
// precondition names, which follows every rider's base (each was read
// before the send): each change was then merged onto the current state,
// as its own refresh would have. Which riders are tried is a matter of
// cost: one built on a newer state would make the carried write stale.
func (st *call) fold(last *snapshot) {
	if !st.tn.ridden() {
		return
	}
	ifMatch, _, _, _, ok := st.mergeable()
	if attempts, _ := st.limits(); !ok || st.out.res.IdempotencyKey != "" || attempts < 2 {
		return // carrying others takes a send this call may need alone
	}
	riders := st.tn.claim(maxRiders, func(rd *rider) bool { return rd.update == nil })
	if len(riders) == 0 {
		return
	}
	doc, _ := st.body.read(st.c.limits.MaxBodyBuffer)
	creds := st.creds()
	// The document each rider merges onto is the one the last merge
	// returned: parsed once, to check that merge and the next. Riders
	// built on one base share its parse.
	cur := parse(doc)
	bases := map[*byte]*parsed{}
	defer func() {
		cur.release()
		for _, b := range bases {
			b.release()
		}
	}()
	var left []*rider
	defer func() {
		// Every claimed rider hears once: those not carried (or all, should
		// a merge function panic) go on alone.
		if p := recover(); p != nil {
			left = riders
			st.riders = nil
			defer panic(p)
		}
		for _, rd := range left {
			rd.out <- nil
		}
	}()
	for _, rd := range riders {
		if rd.ctx.Err() != nil {
			left = append(left, rd) // its caller has gone: nothing of it is sent
			continue
		}
		known := rd.ifMatch == ifMatch ||
			last != nil && ifMatch == last.etag && last.follows(rd.ifMatch, rd.seen)
		if !known || rd.creds != creds || rd.host != st.tmpl.Host || !sameHeaders(rd.header, st.tmpl.Header) {
			left = append(left, rd)
			continue
		}
		next, err := mergeOf(st.rule.Merge, rd.base, rd.ours, doc)
		if err != nil {
			left = append(left, rd) // its own write meets the merge's error (or panic) alone
			continue
		}
		base := bases[firstByte(rd.base)]
		if base == nil {
			p := parse(rd.base)
			base = &p
			bases[firstByte(rd.base)] = base
		}
		ours, merged := parse(rd.ours), parse(next)
		sound := soundParsed(base, &ours, &cur, &merged)
		ours.release()
		if !sound {
			merged.release()
			left = append(left, rd)
			continue
		}
		cur.release()
		cur, doc = merged, next
		st.riders = append(st.riders, rd)
	}
	if len(st.riders) == 0 {
		return
	}
	st.own = &own{body: st.body, tmpl: st.tmpl}
	st.merges++ // the write sent is this one merged with others
	h := st.tmpl.Header.Clone()
	dropBodyHeaders(h)
	t := new(http.Request)
	*t = *st.tmpl
	t.Header, t.ContentLength = h, int64(len(doc))
	st.body, st.tmpl = bytesBody(doc), t
	st.emit(Event{Step: StepMerge})
}

// mergeOf calls merge for a rider's change; a panic in it is that
// change's, and is returned as an error, so that it fails the rider alone
// (on its own goroutine, when its own write merges) and not the holder.
func mergeOf(merge func(base, ours, theirs []byte) ([]byte, error), base, ours, theirs []byte) (next []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			next, err = nil, fmt.Errorf("the merge function panicked: %v", p)
		}
	}()
	return merge(base, ours, theirs)
}

// unfold goes back to the holder's own write, the one carrying the others
// answered resp, not a 2xx. The riders are told their changes were not
// applied when the server refused the write (a 4xx, a 503) and no earlier
// send of it may have been: each goes on alone. Otherwise their fate is
// unknown: each goes on alone, and its recovery checks for its change.
func (st *call) unfold(resp *http.Response) {
	st.body, st.tmpl = st.own.body, st.own.tmpl
	st.own = nil
	st.merges--
	if code := resp.StatusCode; !st.answerLost() && (code/100 == 4 || code == http.StatusServiceUnavailable) {
		st.tell(nil)
		return
	}
	st.tell(unknown)
}

// tell gives each rider its word: its own copy of the answer's status and
// headers, made here, before the holder's caller owns the answer.
func (st *call) tell(c *carried) {
	tellRiders(st.riders, c)
	st.riders = nil
}

// tellRiders gives each rider its word, c, each an answer of its own.
func tellRiders(riders []*rider, c *carried) {
	for _, rd := range riders {
		rd.out <- c.copy()
	}
}

// copy returns the word for one rider: an answer's status and headers are
// its own copy, made before the holder's caller owns the answer.
func (c *carried) copy() *carried {
	if c == nil || c.resp == nil {
		return c
	}
	r := c.resp
	return &carried{body: c.body, resp: &http.Response{
		Status: r.Status, StatusCode: r.StatusCode,
		Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		Header: r.Header.Clone(), Trailer: r.Trailer.Clone(), TLS: r.TLS,
	}}
}

// settle tells the riders the outcome of the write that carried them: the
// answer, when the server accepted it and it fits in memory; else nil.
func (st *call) settle(resp *http.Response) {
	if st.own != nil {
		st.own.body.close() // the caller's body, never sent
		st.own = nil
	}
	if len(st.riders) == 0 {
		return
	}
	if resp == nil || resp.StatusCode/100 != 2 || !st.sameResource(resp) || resp.Body == nil {
		st.tell(unknown)
		return
	}
	data, ok := bufferBody(resp, st.c.limits.MaxBodyBuffer)
	if !ok {
		st.tell(unknown) // accepted, but no answer to give: each rider finds its change there
		return
	}
	st.tell(&carried{resp: resp, body: data})
}

// carriedBy ends a call whose change another write carried: it answers
// with that write's answer, as its own.
func (st *call) carriedBy(c *carried) (*http.Response, error) {
	st.body.close()
	st.out.res.Attempts++
	st.merges++
	st.emit(Event{Step: StepMerge})
	resp := c.resp // this rider's own copy
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(c.body)), int64(len(c.body))
	resp.Request = st.tmpl
	return st.done(resp), nil
}

// sameHeaders reports whether two writes carry the same headers, their
// preconditions and the headers describing their bodies aside.
func sameHeaders(a, b http.Header) bool {
	skip := func(k string) bool {
		if k == "If-Match" || k == "Content-Length" {
			return true
		}
		for _, h := range bodyHeaders {
			if k == h {
				return true
			}
		}
		return false
	}
	n := 0
	for k, av := range a {
		if skip(k) {
			continue
		}
		n++
		bv, ok := b[k]
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if av[i] != bv[i] {
				return false
			}
		}
	}
	for k := range b {
		if !skip(k) {
			n--
		}
	}
	return n == 0
}

// firstByte is the address of b's first byte (nil for none): riders that share
// a base share its bytes.
func firstByte(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}
