package conflict

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-conflict/conflict/internal/jsonv"
	"github.com/go-conflict/conflict/internal/retry"
)

// DefaultMaxBodyBytes is how much of a response body Classify reads when
// [Classifier.MaxBodyBytes] is not set.
const DefaultMaxBodyBytes = 64 << 10

// MaxExcerpt is the most bytes of the body kept in [Conflict.Body].
const MaxExcerpt = 4 << 10

// A Classifier turns conflict responses into [Conflict] values. Its zero value
// is ready to use and is what [Classify] uses. A Classifier is safe for
// concurrent use as long as its fields are not changed.
type Classifier struct {
	// Reasons maps an API's own reason codes to kinds, for example
	// "version_mismatch" to StaleVersion or "duplicate_external_id" to
	// Duplicate. A reason found anywhere the built-in dialects look (a
	// problem's type or code, an error code, an x-ms-error-code header) is
	// looked up here first. Keys are matched ignoring case. With a mapping,
	// any 4xx reply carrying the reason is a conflict.
	Reasons map[string]Kind

	// MaxBodyBytes bounds how much of the body is read to classify it.
	// If zero or negative, DefaultMaxBodyBytes is used. A longer body is
	// classified by its first MaxBodyBytes bytes.
	MaxBodyBytes int64
}

// Classify classifies resp with the zero [Classifier]; see
// [Classifier.Classify].
func Classify(resp *http.Response) (*Conflict, error) {
	var c Classifier
	return c.Classify(resp)
}

// Classify reports whether resp is a conflict, and which.
//
// It returns (nil, nil) for a response that is not a conflict: statuses 409,
// 412, 423 and 428 always are; 400 and 422 are when the reply marks, by a
// machine-readable code or a strong phrase, a duplicate, a reused or busy
// idempotency key, a stale version, a dependency or a lock (ordinary
// validation errors are not conflicts); any 4xx is when its reason is in
// c.Reasons.
//
// The known servers' dialects are read first; any other JSON body is read
// whole (bounded in depth and members) for every reason code and message
// it holds, wherever they sit, and codes are preferred to phrases. The
// request that received the reply counts too: its preconditions (If-Match,
// a version header or query parameter, If-None-Match: *) and its
// idempotency key. [Conflict.Evidence] says what decided.
//
// Classify reads at most c.MaxBodyBytes of the body and then replaces
// resp.Body so that the caller reads the whole body, from its first byte,
// exactly as if nothing had read it; closing it closes the original. It never
// fails on what the server sent: a malformed, empty, binary or truncated body
// gives a Conflict classified by status and headers. The only error is one
// reading the body, returned together with the Conflict classified on what
// was read; the replaced body then returns the bytes read followed by that
// error.
func (c *Classifier) Classify(resp *http.Response) (*Conflict, error) {
	return c.classify(resp, false)
}

// classify is Classify; forced makes any 4xx a conflict (a rule's extra
// statuses).
func (c *Classifier) classify(resp *http.Response, forced bool) (*Conflict, error) {
	if resp == nil || resp.StatusCode < 400 || resp.StatusCode > 499 {
		return nil, nil
	}
	body, readErr := peekBody(resp, c.maxBodyBytes())
	in := newInput(resp, body)
	cf := c.conflictOf(in, forced)
	if readErr != nil {
		readErr = fmt.Errorf("conflict: reading response body: %w", readErr)
	}
	return cf, readErr
}

func (c *Classifier) maxBodyBytes() int64 {
	if c == nil || c.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

// peekBody reads up to limit bytes of resp.Body and puts them back in front
// of the rest.
func peekBody(resp *http.Response, limit int64) ([]byte, error) {
	orig := resp.Body
	if orig == nil || orig == http.NoBody {
		return nil, nil
	}
	buf, err := readAll(orig, resp.ContentLength, limit)
	n := int64(len(buf))
	var rest io.Reader
	switch {
	case err != nil:
		rest = errReader{err}
	case n < limit:
		rest = nil // the whole body was read
	default:
		rest = orig
	}
	if rest == nil {
		resp.Body = &replayBody{Reader: bytes.NewReader(buf), closer: orig}
	} else {
		resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), rest), closer: orig}
	}
	return buf, err
}

type replayBody struct {
	io.Reader
	closer io.Closer
}

func (b *replayBody) Close() error { return b.closer.Close() }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// input is what the dialects look at: a response reduced to plain data.
type input struct {
	status int
	header http.Header
	req    *http.Request
	body   []byte       // decoded (gunzipped) prefix
	root   *jsonv.Value // the body parsed as JSON, or nil
	obj    *jsonv.Value // root when it is an object, else nil
	xml    *xmlError
	// final is set by a dialect whose Kind must not be second-guessed from
	// its reason code.
	final bool
}

func newInput(resp *http.Response, body []byte) *input {
	in := &input{status: resp.StatusCode, header: resp.Header, req: resp.Request, body: body}
	if in.header == nil {
		in.header = http.Header{}
	}
	if strings.EqualFold(in.header.Get("Content-Encoding"), "gzip") {
		in.body = gunzipPrefix(body)
	}
	// A UTF-8 byte order mark (Azure Storage sends one) is not content.
	in.body = bytes.TrimPrefix(in.body, []byte("\ufeff"))
	b := bytes.TrimSpace(in.body)
	switch {
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		if v, err := jsonv.Parse(b); err == nil { // a malformed body leaves root nil
			in.root = &v
			if v.Kind == jsonv.Object {
				in.obj = in.root
			}
		}
	case len(b) > 0 && b[0] == '<':
		in.xml = parseXMLError(b)
	}
	return in
}

// gunzipPrefix decompresses as much of a gzip prefix as it can, up to
// DefaultMaxBodyBytes, for a body that net/http did not decompress itself.
func gunzipPrefix(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, _ := io.ReadAll(io.LimitReader(zr, DefaultMaxBodyBytes))
	return out
}

// conflictOf classifies in. The dialects of known servers are tried first
// and decide where they can; then every code and message in the reply
// (found by the walk, walk.go) is weighed: a machine-readable code beats a
// strong phrase, which beats the generic code "conflict" decided by the
// request, which beats a weak phrase. The status code and the request's
// own preconditions settle the rest.
func (c *Classifier) conflictOf(in *input, forced bool) *Conflict {
	cf := &Conflict{Status: in.status}
	if len(in.body) > 0 {
		cf.Body = bytes.Clone(in.body[:min(len(in.body), MaxExcerpt)])
	}
	cf.RetryAfter = retryAfter(in.header, time.Now())
	for _, d := range dialects {
		if d.match(in, cf) {
			cf.Dialect = d.name
			break
		}
	}
	if cf.Dialect == "" {
		matchHeaderCode(in, cf)
	}
	ev := gather(in, cf)
	mapped := c != nil && len(c.Reasons) > 0 && c.applyReasons(in, cf, ev)
	strong := decide(in, cf, ev, mapped)
	fillFromEvidence(in, cf, ev)
	if byStatus(in, cf) {
		strong = true
	}
	if cf.Kind == StaleVersion && isConditionalCreate(in.req) {
		// A create conditioned on absence cannot be stale: the resource
		// exists (S3's 412 PreconditionFailed, Azure's 409).
		cf.Kind, cf.Heuristic, cf.Evidence = Duplicate, false, EvidenceRequest
	}
	if cf.Kind == StaleVersion && cf.CurrentVersion == "" {
		// Confluence: "... Current version is: 7".
		cf.CurrentVersion = versionInText(cf.Message)
	}
	if cf.Kind == Duplicate && cf.ExistingID == "" {
		cf.ExistingID = existingIDInText(cf, ev)
	}
	if cf.RequestID == "" {
		cf.RequestID = requestIDHeader(in.header)
	}
	if !forced && !isConflict(in.status, cf, mapped, strong) {
		return nil
	}
	if cf.Kind == Duplicate && cf.ExistingLocation == "" {
		cf.ExistingLocation = in.header.Get("Location")
	}
	if mapped {
		cf.Dialect = "reasons"
	}
	if cf.Dialect == "" {
		switch {
		case in.root != nil:
			cf.Dialect = "json"
		case len(ev.msgs) > 0 && cf.Evidence == EvidencePhrase:
			cf.Dialect = "text"
		default:
			cf.Dialect = "status"
		}
	}
	if cf.Kind == Unknown {
		cf.Evidence, cf.Heuristic = "", false
	}
	return cf
}

// applyReasons looks every reason the response carries up in the caller's
// mapping and reports whether one matched.
func (c *Classifier) applyReasons(in *input, cf *Conflict, ev *evidence) bool {
	candidates := []string{cf.Reason, in.header.Get("x-ms-error-code")}
	if cf.Problem != nil {
		candidates = append(candidates, cf.Problem.Type, lastSegment(cf.Problem.Type))
	}
	for i := range ev.codes {
		candidates = append(candidates, ev.codes[i].text, lastSegment(ev.codes[i].text))
	}
	for _, cand := range candidates {
		if cand == "" {
			continue
		}
		for reason, kind := range c.Reasons {
			if strings.EqualFold(reason, cand) {
				cf.Kind, cf.Heuristic = kind, false
				cf.Reason = cand
				return true
			}
		}
	}
	return false
}

// byStatus settles what the status code and the request decide, and fills
// the kind from the status when the body said nothing usable. It reports
// whether it decided the kind.
func byStatus(in *input, cf *Conflict) bool {
	switch in.status {
	case http.StatusPreconditionRequired:
		cf.Kind, cf.Heuristic, cf.Evidence = PreconditionRequired, false, EvidenceStatus
		return true
	case http.StatusLocked:
		if cf.Kind == Unknown {
			cf.Kind, cf.Evidence = Locked, EvidenceStatus
			return true
		}
	case http.StatusPreconditionFailed:
		switch {
		case isConditionalCreate(in.req):
			// A create conditioned on absence (If-None-Match: *) failed:
			// the resource exists.
			cf.Kind, cf.Heuristic, cf.Evidence = Duplicate, false, EvidenceRequest
			return true
		case cf.Kind == Duplicate && !sentVersion(in.req):
			// A create guarded by "must not exist" other than If-None-Match
			// (etcd's ?prevExist=false): the body says it exists.
		case cf.Kind == Unknown && cf.Reason != "" && !sentPrecondition(in.req):
			// A 412 to a request that set no precondition is not a failed
			// version check; the server's reason is one we do not know.
		case cf.Kind == Unknown || cf.Heuristic:
			cf.Kind, cf.Heuristic, cf.Evidence = StaleVersion, false, EvidenceStatus
			return true
		}
	case http.StatusConflict:
		if cf.Kind == Unknown && in.req != nil && isWebDAVCollectionMethod(in.req.Method) {
			// RFC 4918 §9.3.1, §9.8.5, §9.9.4: 409 when a parent collection
			// is missing.
			cf.Kind, cf.Evidence = Dependency, EvidenceStatus
		}
	}
	return false
}

func isConditionalCreate(req *http.Request) bool {
	return req != nil && req.Header.Get("If-None-Match") == "*" && req.Header.Get("If-Match") == ""
}

// sentPrecondition reports whether the request was conditional in any way.
func sentPrecondition(req *http.Request) bool {
	if req == nil {
		return false
	}
	return sentVersion(req) || req.Header.Get("If-None-Match") != ""
}

func isWebDAVCollectionMethod(m string) bool {
	return m == "MKCOL" || m == "COPY" || m == "MOVE"
}

// isConflict reports whether the reply is a conflict: 409, 412, 423 and 428
// always are; a 400 or 422 is when strong evidence (a code or a strong
// phrase) names a duplicate, a reused or busy idempotency key, a stale
// version, a dependency or a lock; any 4xx is when the caller's mapping
// named its reason.
func isConflict(status int, cf *Conflict, mapped, strong bool) bool {
	switch status {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked, http.StatusPreconditionRequired:
		return true
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		if mapped {
			return true
		}
		switch cf.Kind {
		case Duplicate, IdempotencyMismatch, IdempotencyInUse, StaleVersion, Dependency, Locked:
			return strong
		}
	}
	return mapped
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP-date,
// measured from the response's Date header when it has one. A missing,
// malformed or past value gives zero.
func retryAfter(h http.Header, now time.Time) time.Duration {
	d, _ := retry.ParseRetryAfter(h.Get("Retry-After"), h.Get("Date"), now)
	return d
}

// maxRetryAfter bounds a parsed Retry-After; the client applies its own,
// much lower, cap.
const maxRetryAfter = retry.MaxRetryAfter

var requestIDHeaders = []string{"X-Request-Id", "Request-Id", "X-Ms-Request-Id", "X-Amzn-Requestid", "X-Amz-Request-Id", "X-Github-Request-Id", "X-Correlation-Id", "X-Trace-Id"}

func requestIDHeader(h http.Header) string {
	for _, k := range requestIDHeaders {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func lastSegment(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexAny(s, "/#:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// versionInText finds "current version is: N" in a sentence.
func versionInText(msg string) string {
	const marker = "current version is"
	i := strings.Index(asciiLower(msg), marker)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(msg[i+len(marker):], ": ")
	end := 0
	for end < len(rest) && (rest[end] >= '0' && rest[end] <= '9') {
		end++
	}
	return rest[:end]
}
