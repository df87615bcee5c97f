package conflict

import (
	"bytes"
	"strings"
)

// gather collects the evidence: the dialect's reason and message first (as
// priors), a reason in a header, then everything the walk finds in a JSON
// body, or the phrases of any other body.
func gather(in *input, cf *Conflict) *evidence {
	ev := &evidence{}
	w := newWalker(ev, in.status, in.req)
	if cf.Reason != "" {
		w.addCode(cf.Reason, 0, cf.Field)
	}
	if code := awsErrorType(in.header); code != "" && code != cf.Reason {
		w.addCode(code, 0, "")
	}
	if cf.Message != "" {
		w.message(cf.Message, 0, cf.Field, 0)
	}
	switch {
	case in.root != nil:
		w.walk(in.root)
	case in.xml != nil:
		x := in.xml
		for _, code := range []string{x.Code, x.Type, x.Exception} {
			if code != "" && code != cf.Reason {
				if i := strings.LastIndexByte(code, '\\'); i >= 0 {
					code = code[i+1:] // Sabre\DAV\Exception\Conflict
				}
				w.addCode(code, 1, "")
			}
		}
		for _, msg := range []string{x.Title, x.Detail, x.DAVMessage} {
			if msg != "" {
				w.message(msg, 1, "", 1)
			}
		}
	case len(bytes.TrimSpace(in.body)) > 0:
		w.scanText(in.body)
	}
	return ev
}

// decide sets the kind from the evidence, unless a dialect or the caller's
// mapping already did, and reports whether the evidence is strong enough to
// make a 400 or 422 a conflict: a machine-readable code or a strong phrase.
func decide(in *input, cf *Conflict, ev *evidence, mapped bool) (strong bool) {
	idem := ev.idem || sentIdempotencyKey(in.req)
	var code, msg *cand
	for i := range ev.codes {
		if c := &ev.codes[i]; c.v.strength > 0 && (code == nil || c.v.strength > code.v.strength) {
			code = c
		}
	}
	for i := range ev.msgs {
		if c := &ev.msgs[i]; c.v.strength > 0 && (msg == nil || c.v.strength > msg.v.strength) {
			msg = c
		}
	}
	if cf.Reason == "" {
		cf.Reason = firstReason(ev, code)
	}
	if cf.Message == "" {
		cf.Message = bestMessage(ev, in)
	}
	switch {
	case mapped:
		cf.Evidence = EvidenceReason
		return true
	case cf.Kind != Unknown: // a dialect decided
		if cf.Heuristic {
			cf.Evidence = EvidencePhrase
			return phraseVerdict([]byte(asciiLower(cf.Message))).strength >= verdictPattern
		}
		cf.Evidence = EvidenceReason
		if squash(cf.Reason) == "conflict" {
			cf.Evidence = EvidenceRequest // CouchDB's "conflict": see ambiguous
		}
		return true
	case in.final:
		return false
	}
	var by *cand
	switch {
	case code != nil && code.v.strength >= verdictPattern:
		by, cf.Evidence = code, EvidenceReason
	case msg != nil && msg.v.strength >= verdictPattern:
		by, cf.Evidence = msg, EvidencePhrase
	case code != nil:
		by, cf.Evidence = code, EvidenceRequest
	case msg != nil:
		by, cf.Evidence = msg, EvidencePhrase
	default:
		return false
	}
	v := by.v
	v.idem = v.idem || idem
	cf.Kind = resolve(v, in.req)
	if cf.Kind == Unknown {
		cf.Evidence = ""
		return false
	}
	if by == code {
		cf.Reason = code.text
	} else {
		cf.Heuristic = true
		if !by.short && (cf.Message == "" || kindOfPhrase(cf.Message) != cf.Kind) {
			cf.Message = messageText(by.text, in)
		}
	}
	if cf.Field == "" {
		cf.Field = by.field
	}
	return by.v.strength >= verdictPattern
}

// firstReason is the reason to report: the deciding code, or else the
// first code that is more than "an error".
func firstReason(ev *evidence, code *cand) string {
	if code != nil && code.v.strength >= verdictPattern {
		return code.text
	}
	var buf [maxCodeLen]byte
	for i := range ev.codes {
		c := &ev.codes[i]
		if k := codeKey(buf[:0], c.text); len(k) > 0 && !c.fromMsg && !genericCodes[string(k)] {
			return c.text
		}
	}
	return ""
}

// bestMessage is the message to report when no dialect said: the most
// message-like key, shallowest first.
func bestMessage(ev *evidence, in *input) string {
	var best *cand
	for i := range ev.msgs {
		c := &ev.msgs[i]
		if best == nil || c.rank < best.rank || c.rank == best.rank && c.depth < best.depth {
			best = c
		}
	}
	if best == nil {
		return ""
	}
	return messageText(best.text, in)
}

// messageText is a message as reported: a JSON message as sent; the start
// of a plain-text body, trimmed; nothing of an HTML page.
func messageText(s string, in *input) string {
	if in.root != nil || in.xml != nil {
		return s
	}
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "<") {
		return ""
	}
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	if len(t) > 512 {
		t = t[:512]
	}
	return t
}

// fillFromEvidence copies the detail fields the walk found into the fields
// no dialect filled.
func fillFromEvidence(in *input, cf *Conflict, ev *evidence) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&cf.Field, ev.field)
	set(&cf.CurrentVersion, ev.currentVersion)
	set(&cf.CurrentState, ev.currentState)
	set(&cf.RequestID, ev.requestID)
	if cf.Kind == Duplicate {
		set(&cf.ExistingID, ev.existingID)
		set(&cf.ExistingLocation, ev.existingLoc)
	}
	if cf.AllowedTransitions == nil && ev.allowedSet {
		cf.AllowedTransitions = ev.allowed // not nil: [] means no transition is allowed
	}
	if cf.Current == nil && ev.current != nil {
		cf.Current = bytes.Clone(ev.current.Raw)
	}
}

// existingIDInText finds an existing resource's id quoted in the messages.
func existingIDInText(cf *Conflict, ev *evidence) string {
	if id := idInText(cf.Message); id != "" {
		return id
	}
	for i := range ev.msgs {
		if id := idInText(ev.msgs[i].text); id != "" {
			return id
		}
	}
	return ""
}
