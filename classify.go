package conflict

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

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
// 412, 423 and 428 always are; 400 and 422 are when the body names a
// duplicate or an idempotency-key mismatch; any 4xx is when its reason is in
// c.Reasons.
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
	size := int64(512)
	if cl := resp.ContentLength; cl >= 0 && cl < limit {
		size = cl + bytes.MinRead // room to see EOF without growing
	}
	bb := bytes.NewBuffer(make([]byte, 0, size))
	n, err := bb.ReadFrom(io.LimitReader(orig, limit))
	buf := bb.Bytes()
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
	body   []byte // decoded (gunzipped) prefix
	obj    map[string]json.RawMessage
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
	b := bytes.TrimSpace(in.body)
	switch {
	case len(b) > 0 && b[0] == '{':
		_ = json.Unmarshal(b, &in.obj) // a malformed body leaves obj nil
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
	if c != nil && len(c.Reasons) > 0 && c.applyReasons(in, cf) {
		cf.Dialect = "reasons"
	}
	if cf.Kind == Unknown && cf.Reason != "" && !in.final {
		cf.Kind = kindOfReason(cf.Reason, in.req)
	}
	if cf.Kind == Unknown && cf.Message != "" {
		if k := kindOfPhrase(cf.Message); k != Unknown {
			cf.Kind, cf.Heuristic = k, true
		}
	}
	byStatus(in, cf)
	if cf.Kind == StaleVersion && isConditionalCreate(in.req) {
		// A create conditioned on absence cannot be stale: the resource
		// exists (S3's 412 PreconditionFailed, Azure's 409).
		cf.Kind = Duplicate
	}
	if cf.Kind == StaleVersion && cf.CurrentVersion == "" {
		// Confluence: "... Current version is: 7".
		cf.CurrentVersion = versionInText(cf.Message)
	}
	if cf.RequestID == "" {
		cf.RequestID = requestIDHeader(in.header)
	}
	if !forced && !isConflict(in.status, cf, cf.Dialect == "reasons") {
		return nil
	}
	if cf.Kind == Duplicate && cf.ExistingLocation == "" {
		cf.ExistingLocation = in.header.Get("Location")
	}
	if cf.Dialect == "" {
		cf.Dialect = "status"
	}
	return cf
}

// applyReasons looks every reason the response carries up in the caller's
// mapping and reports whether one matched.
func (c *Classifier) applyReasons(in *input, cf *Conflict) bool {
	candidates := []string{cf.Reason, in.header.Get("x-ms-error-code")}
	if cf.Problem != nil {
		candidates = append(candidates, cf.Problem.Type, lastSegment(cf.Problem.Type))
	}
	for _, cand := range candidates {
		if cand == "" {
			continue
		}
		for reason, kind := range c.Reasons {
			if strings.EqualFold(reason, cand) {
				cf.Kind, cf.Heuristic = kind, false
				if cf.Reason == "" {
					cf.Reason = cand
				}
				return true
			}
		}
	}
	return false
}

// byStatus settles what the status code alone decides, and fills the kind
// from the status when the body said nothing usable.
func byStatus(in *input, cf *Conflict) {
	switch in.status {
	case http.StatusPreconditionRequired:
		cf.Kind, cf.Heuristic = PreconditionRequired, false
	case http.StatusLocked:
		if cf.Kind == Unknown {
			cf.Kind = Locked
		}
	case http.StatusPreconditionFailed:
		// A failed precondition is a stale version (or, for a conditional
		// create, a duplicate: see below).
		if cf.Kind == Unknown || cf.Heuristic {
			cf.Kind, cf.Heuristic = StaleVersion, false
		}
	case http.StatusConflict:
		if cf.Kind == Unknown && in.req != nil && isWebDAVCollectionMethod(in.req.Method) {
			// RFC 4918 §9.3.1, §9.8.5, §9.9.4: 409 when a parent collection
			// is missing.
			cf.Kind = Dependency
		}
	}
}

func isConditionalCreate(req *http.Request) bool {
	return req != nil && req.Header.Get("If-None-Match") == "*" && req.Header.Get("If-Match") == ""
}

func isWebDAVCollectionMethod(m string) bool {
	return m == "MKCOL" || m == "COPY" || m == "MOVE"
}

func isConflict(status int, cf *Conflict, mapped bool) bool {
	switch status {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked, http.StatusPreconditionRequired:
		return true
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return mapped || cf.Kind == Duplicate || cf.Kind == IdempotencyMismatch
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
