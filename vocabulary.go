package conflict

import (
	"bytes"
	"net/http"
	"strings"
)

// ambiguous decides a reason that means either a stale version or a
// duplicate ("conflict") from the request that received it: a request that
// carried a version (a precondition, a version header or query parameter)
// was stale, a create without one found a duplicate.
func ambiguous(req *http.Request) Kind {
	if req == nil {
		return Unknown
	}
	switch {
	case req.Header.Get("If-None-Match") == "*":
		return Duplicate
	case sentVersion(req):
		return StaleVersion
	}
	switch req.Method {
	case http.MethodPost:
		return Duplicate
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return StaleVersion
	}
	return Unknown
}

// versionQuery are query parameters that carry the version a write is
// based on: CouchDB's rev, etcd's prevIndex and prevValue, Google Cloud
// Storage's ifGenerationMatch, and the common spellings.
var versionQuery = []string{"rev", "version", "revision", "prevIndex", "prevValue", "ifGenerationMatch", "ifMetagenerationMatch", "if_match", "ifMatch", "expected_version", "expectedVersion", "cas", "etag"}

// sentVersion reports whether the request said which version it was based
// on: If-Match, If-Unmodified-Since, a vendor header naming a version,
// revision or generation (X-Contentful-Version; not an API version such as
// Stripe-Version: 2024-06-20), or a version query parameter.
func sentVersion(req *http.Request) bool {
	if req == nil {
		return false
	}
	h := req.Header
	if h.Get("If-Match") != "" || h.Get("If-Unmodified-Since") != "" {
		return true
	}
	for name, vals := range h {
		if len(vals) > 0 && vals[0] != "" && !isDateLike(vals[0]) && isVersionHeader(name) {
			return true
		}
	}
	if req.URL != nil && req.URL.RawQuery != "" {
		q := req.URL.Query()
		for _, k := range versionQuery {
			if v := q.Get(k); v != "" && !isDateLike(v) {
				return true
			}
		}
	}
	return false
}

// isVersionHeader reports whether a request header names the version of
// the resource written (X-Contentful-Version, X-Resource-Revision,
// X-Goog-If-Generation-Match) rather than of the API, the client or the
// protocol (X-Api-Version, X-Client-Version, X-Stainless-Runtime-Version).
func isVersionHeader(name string) bool {
	n := asciiLower(name)
	if !strings.Contains(n, "version") && !strings.Contains(n, "revision") && !strings.Contains(n, "generation") {
		return false
	}
	for _, tok := range strings.FieldsFunc(n, func(r rune) bool { return r == '-' || r == '_' }) {
		switch tok {
		case "api", "client", "sdk", "package", "lang", "runtime", "agent", "library", "platform",
			"app", "protocol", "mime", "schema", "os", "ua", "browser", "device", "accept", "content":
			return false
		}
	}
	return true
}

// isDateLike reports whether s starts like 2024-06-20, the form API version
// headers take.
func isDateLike(s string) bool {
	return len(s) >= 10 && s[4] == '-' && s[7] == '-' && s[0] >= '0' && s[0] <= '9'
}

// sentIdempotencyKey reports whether the request carried an idempotency
// key, under any header whose name mentions idempotency (Idempotency-Key,
// X-Idempotency-Key, X-NetSuite-Idempotency-Key).
func sentIdempotencyKey(req *http.Request) bool {
	if req == nil {
		return false
	}
	for name, vals := range req.Header {
		if len(vals) > 0 && vals[0] != "" && strings.Contains(asciiLower(name), "idempotency") {
			return true
		}
	}
	return false
}

// reasonKinds is the common vocabulary of reason codes, squashed (see
// squash): lowercase letters and digits only.
var reasonKinds = map[string]Kind{
	// stale version
	"versionconflict": StaleVersion, "versionmismatch": StaleVersion, "staleversion": StaleVersion,
	"staleobject": StaleVersion, "staledata": StaleVersion, "staleresource": StaleVersion,
	"etagmismatch": StaleVersion, "conditionnotmet": StaleVersion, "preconditionfailed": StaleVersion,
	"concurrentupdate": StaleVersion, "editconflict": StaleVersion, "revisionmismatch": StaleVersion,
	"optimisticlock": StaleVersion, "optimisticlockfailure": StaleVersion, "outdated": StaleVersion,
	"outofdate": StaleVersion, "resourcemodified": StaleVersion, "resourcechanged": StaleVersion,
	"wrongversion": StaleVersion, "aborted": StaleVersion, "conditionalcheckfailed": StaleVersion,
	"updateconflict": StaleVersion,
	// duplicate
	"duplicate": Duplicate, "alreadyexists": Duplicate, "duplicatekey": Duplicate,
	"uniqueviolation": Duplicate, "uniquenessviolation": Duplicate, "uniquenesserror": Duplicate,
	"uniqueconstraint": Duplicate, "fileexists": Duplicate, "exists": Duplicate, "23505": Duplicate,
	"notunique": Duplicate, "unique": Duplicate, "taken": Duplicate,
	// invalid transition
	"invalidtransition": InvalidTransition, "invalidstatetransition": InvalidTransition,
	"invalidstate": InvalidTransition, "illegalstatetransition": InvalidTransition,
	"illegalstate": InvalidTransition, "transitionnotallowed": InvalidTransition,
	"invalidstatus": InvalidTransition, "failedprecondition": InvalidTransition,
	// idempotency
	"idempotencykeyinuse": IdempotencyInUse, "requestinprogress": IdempotencyInUse,
	"idempotentrequestinprogress": IdempotencyInUse, "idempotencyrequestinprogress": IdempotencyInUse,
	"idempotencyerror": IdempotencyMismatch, "idempotencykeymismatch": IdempotencyMismatch,
	"idempotencykeyreused": IdempotencyMismatch, "idempotencykeyalreadyused": IdempotencyMismatch,
	"idempotencymismatch": IdempotencyMismatch,
	// dependency
	"dependency": Dependency, "dependencyconflict": Dependency, "foreignkeyviolation": Dependency,
	"missingparent": Dependency, "parentnotfound": Dependency, "circularreference": Dependency,
	"circulardependency": Dependency, "cycle": Dependency, "referencedresourcenotfound": Dependency,
	"referentialintegrity": Dependency, "23503": Dependency,
	// locked, operation in progress
	"locked": Locked, "resourcelocked": Locked, "anotheroperationinprogress": Locked,
	"operationinprogress": Locked, "concurrentmodification": Locked, "locktimeout": Locked,
	"leasealreadypresent": Locked, "conditionalrequestconflict": Locked, "operationaborted": Locked,
	// Azure Storage: another holder's lease stands in the way.
	"leaseidmissing": Locked, "leaseidmismatchwithbloboperation": Locked,
	"leaseidmismatchwithcontaineroperation": Locked, "leaseisbreakingandcannotbeacquired": Locked,
	"resourcebusy": Locked, "busy": Locked, "transactionconflict": Locked, "40001": Locked,
	// precondition required
	"preconditionrequired": PreconditionRequired,
}

// genericCodes say no more than "an error": they are not reported as the
// reason when a more telling code is present, and never decide a kind.
var genericCodes = map[string]bool{
	"error": true, "errors": true, "err": true, "fault": true, "failure": true, "failed": true, "fail": true,
	"invalid": true, "exception": true, "custom": true, "object": true, "aboutblank": true,
	"validationerror": true, "validationfault": true, "validationfailed": true, "requesterror": true,
	"invalidrequest": true, "invalidrequesterror": true, "badrequest": true, "badrequesterror": true,
	"clienterror": true, "apierror": true, "unprocessableentity": true, "unprocessable": true,
	"recordinvalid": true, "invalidparameter": true, "status": true, "true": true, "false": true,
}

// A verdict is what a code or a phrase says about the kind of a conflict.
type verdict struct {
	kind Kind
	// strength orders verdicts: verdictExact for a code of the vocabulary,
	// verdictPattern for a code matched by a pattern (duplicate_*,
	// *_already_exists), verdictAmbiguous for "conflict" decided by the
	// request (see ambiguous). For a phrase, strong phrases count as
	// verdictPattern and weak ones as verdictAmbiguous.
	strength int8
	// inProgress marks "an earlier request or operation is still being
	// processed": IdempotencyInUse for a request that carried an
	// idempotency key, Locked otherwise.
	inProgress bool
	// idem marks a code about an idempotency key whose kind is not told
	// ("idempotency-conflict"); it makes an in-progress message an
	// IdempotencyInUse.
	idem bool
}

const (
	verdictAmbiguous int8 = 1
	verdictPattern   int8 = 2
	verdictExact     int8 = 3
)

// kindOfReason maps a reason code to a kind through the common vocabulary
// and its patterns; see kindOfCode.
func kindOfReason(reason string, req *http.Request) Kind {
	var buf [maxCodeLen]byte
	v := kindOfCode(codeKey(buf[:0], reason), req)
	return resolve(v, req)
}

// resolve turns a verdict into a kind for the request.
func resolve(v verdict, req *http.Request) Kind {
	if v.inProgress {
		if v.idem || sentIdempotencyKey(req) {
			return IdempotencyInUse
		}
		return Locked
	}
	return v.kind
}

// maxCodeLen bounds the squashed length of a value read as a code.
const maxCodeLen = 96

// codeKey squashes a code into dst, keeping only the part that names the
// error: the last segment of a URI or a qualified name
// ("com.amazonaws.dynamodb.v20120810#TransactionConflictException",
// "https://example.com/problems/version-conflict"). It returns nil for a
// value too long to be a code.
func codeKey(dst []byte, s string) []byte {
	if i := strings.LastIndexByte(s, '#'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	} else if strings.Contains(s, "://") || strings.HasPrefix(s, "/") {
		s = lastSegment(s)
	}
	if len(s) > 2*maxCodeLen {
		return nil
	}
	dst = appendSquash(dst, s)
	if len(dst) > maxCodeLen {
		return nil
	}
	return dst
}

// codeSuffixes are the words that only say "this is an error" at the end of
// a code: UsernameExistsException, conflict_error, StaleObjectError.
var codeSuffixes = []string{"exception", "error", "fault", "err"}

// kindOfCode maps a squashed code (see codeKey) to a verdict: the common
// vocabulary first, then the patterns many APIs share (duplicate_*,
// *_already_exists, *Exists, *_not_unique, *_in_progress, version/revision
// + mismatch, ...). The code "conflict" alone, or a code ending in it, is
// decided by the request (see ambiguous).
func kindOfCode(s []byte, req *http.Request) verdict {
	if len(s) == 0 || genericCodes[string(s)] {
		return verdict{}
	}
	if k, ok := reasonKinds[string(s)]; ok {
		return verdict{kind: k, strength: verdictExact, inProgress: k == Locked && containsString(s, "inprogress") && !containsString(s, "another")}
	}
	for _, suf := range codeSuffixes {
		if len(s) > len(suf) && string(s[len(s)-len(suf):]) == suf {
			s = s[:len(s)-len(suf)]
			if k, ok := reasonKinds[string(s)]; ok {
				return verdict{kind: k, strength: verdictExact}
			}
			break
		}
	}
	has := func(sub string) bool { return containsString(s, sub) }
	suffix := func(suf string) bool { return len(s) >= len(suf) && string(s[len(s)-len(suf):]) == suf }
	inProgress := has("inprogress") || has("beingprocessed") || has("stillprocessing")
	switch {
	case has("idempoten"):
		switch {
		case inProgress || has("inuse") || has("processing") || has("concurrent"):
			return verdict{kind: IdempotencyInUse, strength: verdictPattern}
		case has("mismatch") || has("reuse") || has("alreadyused") || has("different") || has("payload"):
			return verdict{kind: IdempotencyMismatch, strength: verdictPattern}
		}
		return verdict{idem: true}
	case has("optimisticlock"), string(s[:min(len(s), 5)]) == "stale",
		(has("version") || has("revision") || has("etag")) && (has("mismatch") || has("conflict") || has("outdated")),
		suffix("conditionnotmet"), suffix("conditionfailed"), suffix("checkfailed"), suffix("updateconflict"):
		return verdict{kind: StaleVersion, strength: verdictPattern}
	case has("duplicate"), has("alreadyexist"), has("alreadyowned"), has("alreadyinuse"), has("nameinuse"), has("emailinuse"), has("alreadytaken"),
		has("alreadyregistered"), has("notunique"), has("uniqueness"), has("uniqueconstraint"), has("uniqueviolation"),
		suffix("exists") && !has("not"), suffix("taken"), suffix("unique"):
		return verdict{kind: Duplicate, strength: verdictPattern}
	case inProgress:
		return verdict{kind: Locked, strength: verdictPattern, inProgress: true}
	case has("transition"):
		return verdict{kind: InvalidTransition, strength: verdictPattern}
	case has("foreignkey"), has("circular"), suffix("notempty"):
		return verdict{kind: Dependency, strength: verdictPattern}
	case has("locked"):
		return verdict{kind: Locked, strength: verdictPattern}
	case suffix("conflict"):
		if k := ambiguous(req); k != Unknown {
			return verdict{kind: k, strength: verdictAmbiguous}
		}
	}
	return verdict{}
}

// A phrase is a common English phrasing of a kind, lowercase. A strong
// phrase says the kind on its own and may make a 400 or 422 a conflict; a
// weak one only decides the kind of a reply that is a conflict by its
// status (409, 412).
type phrase struct {
	text       string
	kind       Kind
	strong     bool
	inProgress bool
}

// phrases are the last resort, most specific first. They are checked
// against the corpus of real replies (testdata/corpus).
var phrases = []phrase{
	// idempotency (the IETF draft, Stripe)
	{text: "idempotency-key is already used", kind: IdempotencyMismatch, strong: true},
	{text: "same parameters they were first used with", kind: IdempotencyMismatch, strong: true},
	{text: "outstanding for this idempotency-key", kind: IdempotencyInUse, strong: true},
	{text: "in-progress request using this idempotent key", kind: IdempotencyInUse, strong: true},
	{text: "request with the same idempotency-key", kind: IdempotencyInUse, strong: true},
	// locked, or an earlier request still being processed
	{text: "another operation is in progress", kind: Locked, strong: true},
	{text: "is currently locked", kind: Locked, strong: true},
	{text: "resource is locked", kind: Locked, strong: true},
	{text: "still being processed", kind: Locked, strong: true, inProgress: true},
	{text: "already being processed", kind: Locked, strong: true, inProgress: true},
	{text: "not been completed yet", kind: Locked, strong: true, inProgress: true},
	{text: "already processed or in progress", kind: Locked, strong: true, inProgress: true},
	{text: "already in progress", kind: Locked, strong: true, inProgress: true},
	{text: "update is in progress", kind: Locked, strong: true, inProgress: true},
	{text: "is being processed", kind: Locked, inProgress: true},
	{text: "is in progress", kind: Locked, inProgress: true},
	// dependency
	{text: "foreign key", kind: Dependency, strong: true},
	{text: "circular", kind: Dependency},
	{text: "is referenced by", kind: Dependency},
	// duplicate
	{text: "already exist", kind: Duplicate, strong: true},
	{text: "already present", kind: Duplicate, strong: true},
	{text: "already been taken", kind: Duplicate, strong: true},
	{text: "already taken", kind: Duplicate, strong: true},
	{text: "already registered", kind: Duplicate, strong: true},
	{text: "already been registered", kind: Duplicate, strong: true},
	{text: "already in use", kind: Duplicate, strong: true},
	{text: "already being used", kind: Duplicate, strong: true},
	{text: "is already used", kind: Duplicate, strong: true},
	{text: "already a member", kind: Duplicate, strong: true},
	{text: "already uploaded", kind: Duplicate, strong: true},
	{text: "already a list member", kind: Duplicate, strong: true},
	{text: "duplicate entry", kind: Duplicate, strong: true},
	{text: "duplicate key", kind: Duplicate, strong: true},
	{text: "duplicate value", kind: Duplicate, strong: true},
	{text: "duplicate record", kind: Duplicate, strong: true},
	{text: "must be unique", kind: Duplicate, strong: true},
	{text: "has to be unique", kind: Duplicate, strong: true},
	{text: "should be unique", kind: Duplicate, strong: true},
	{text: "needs to be unique", kind: Duplicate, strong: true},
	{text: "uniqueness constraint", kind: Duplicate, strong: true},
	{text: "unique constraint", kind: Duplicate, strong: true},
	{text: "violates unique", kind: Duplicate, strong: true},
	{text: "exists with same", kind: Duplicate, strong: true},
	{text: "exists with the same", kind: Duplicate, strong: true},
	{text: "conflicts with an existing", kind: Duplicate},
	{text: "conflicts with another", kind: Duplicate},
	// stale version
	{text: "stale object", kind: StaleVersion, strong: true},
	{text: "optimistic lock", kind: StaleVersion, strong: true},
	{text: "did not match the current version", kind: StaleVersion, strong: true},
	{text: "does not match the current version", kind: StaleVersion, strong: true},
	{text: "different version than expected", kind: StaleVersion, strong: true},
	{text: "version mismatch", kind: StaleVersion, strong: true},
	{text: "revision mismatch", kind: StaleVersion, strong: true},
	{text: "version conflict", kind: StaleVersion, strong: true},
	{text: "modified concurrently", kind: StaleVersion, strong: true},
	{text: "has changed since", kind: StaleVersion, strong: true},
	{text: "has been modified", kind: StaleVersion},
	{text: "was modified", kind: StaleVersion},
	{text: "has been changed", kind: StaleVersion},
	{text: "has changed", kind: StaleVersion},
	{text: "current version is", kind: StaleVersion},
	{text: "does not match", kind: StaleVersion},
	{text: "did not match", kind: StaleVersion},
	{text: "expected to be at", kind: StaleVersion},
	{text: "made remotely", kind: StaleVersion},
	{text: "latest version", kind: StaleVersion},
	{text: "is newer than", kind: StaleVersion},
	// invalid transition
	{text: "invalid transition", kind: InvalidTransition},
	{text: "invalid state transition", kind: InvalidTransition},
	{text: "cannot transition", kind: InvalidTransition},
	{text: " in state ", kind: InvalidTransition},
}

// containsString is bytes.Contains for a string needle, without copying it.
func containsString(s []byte, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(s); {
		j := bytes.IndexByte(s[i:len(s)-len(sub)+1], sub[0])
		if j < 0 {
			return false
		}
		i += j
		if string(s[i:i+len(sub)]) == sub {
			return true
		}
		i++
	}
	return false
}

// phraseBytes are the phrases' texts as bytes, and phrasesByFirst the
// indexes of the phrases by their first byte, so that a message is scanned
// once rather than once per phrase.
var (
	phraseBytes    [][]byte
	phrasesByFirst [256][]int
)

func init() {
	phraseBytes = make([][]byte, len(phrases))
	for i := range phrases {
		phraseBytes[i] = []byte(phrases[i].text)
		c := phrases[i].text[0]
		phrasesByFirst[c] = append(phrasesByFirst[c], i)
	}
}

// phraseVerdict recognises a human-readable sentence, given lowercase: the
// earliest phrase of the list that it contains decides.
func phraseVerdict(lower []byte) verdict {
	best := len(phrases)
	for i := range lower {
		for _, pi := range phrasesByFirst[lower[i]] {
			if pi >= best {
				break // indexes ascend
			}
			if bytes.HasPrefix(lower[i:], phraseBytes[pi]) {
				best = pi
				break
			}
		}
	}
	if best == len(phrases) {
		return verdict{}
	}
	p := &phrases[best]
	s := verdictAmbiguous
	if p.strong {
		s = verdictPattern
	}
	return verdict{kind: p.kind, strength: s, inProgress: p.inProgress}
}

// kindOfPhrase recognises a human-readable sentence.
func kindOfPhrase(msg string) Kind {
	if msg == "" {
		return Unknown
	}
	v := phraseVerdict([]byte(asciiLower(msg)))
	if v.inProgress {
		return Locked
	}
	return v.kind
}
