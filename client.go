package conflict

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/go-conflict/conflict/internal/retry"
)

// A Client sends HTTP requests and recovers from the conflicts the server
// answers with, as its rules and each conflict's [Kind] say.
//
// Its zero value is ready to use and behaves like New(). A Client is safe
// for concurrent use by multiple goroutines; its configuration cannot change
// after [New].
type Client struct {
	once   sync.Once
	cfg    config
	limits Limits
	rules  *ruleSet
	bases  *baseCache
	seq    atomic.Uint64 // numbers calls, for events
	// clock orders what the client saw: a representation remembered at
	// one tick was answered before any request sent at a later tick, so
	// the answer to that request holds it or a later state (see mergeOntoLast).
	clock atomic.Uint64
	queue resourceQueue // the turns of writes to one resource

	hc        *http.Client      // sends through Do: the caller's client, or one around the transport
	resend    *http.Client      // re-sends through Do: as hc, redirects kept on the origin
	reader    *http.Client      // recovery reads through Do: as hc, no redirects
	transport http.RoundTripper // sends through RoundTrip
}

// New returns a Client configured by opts. With no options it classifies
// conflicts, attaches idempotency keys to POST requests, retries transport
// failures of requests that are safe to re-send, waits out idempotency keys
// in use and locked resources, and aborts on everything else.
//
// New panics if a rule's pattern or fields are malformed, or a pattern is
// registered twice, as [http.ServeMux.Handle] does.
func New(opts ...Option) *Client {
	c := new(Client)
	c.once.Do(func() { c.setup(opts) })
	return c
}

func (c *Client) init() { c.once.Do(func() { c.setup(nil) }) }

func (c *Client) setup(opts []Option) {
	cfg := config{limits: DefaultLimits()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	hc := cfg.httpClient
	switch {
	case hc == nil:
		rt := cfg.transport
		if rt == nil {
			rt = http.DefaultTransport.(*http.Transport).Clone()
		}
		hc = &http.Client{Transport: rt}
	case cfg.transport != nil:
		cp := *hc
		cp.Transport = cfg.transport
		hc = &cp
	}
	c.hc = hc
	c.transport = hc.Transport
	if c.transport == nil {
		c.transport = http.DefaultTransport
	}
	resend, reader := *hc, *hc
	resend.CheckRedirect = sameOriginRedirects(hc.CheckRedirect)
	reader.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.resend, c.reader = &resend, &reader

	c.limits = cfg.limits
	c.limits.TransportRetries = max(c.limits.TransportRetries, 0) // negative: off
	if cfg.keyHeader == "" {
		cfg.keyHeader = DefaultIdempotencyHeader
	}
	if cfg.wait == nil {
		cfg.wait = retry.Sleep
	}
	c.cfg = cfg
	c.rules = newRuleSet(cfg.rules) // panics on a bad rule
	c.bases = newBaseCache(c.limits.BaseCacheBytes)
}

// sameOriginRedirects wraps a CheckRedirect so that a re-sent request never
// follows a redirect off its origin: the caller's headers, of any name,
// stay on the origin they were meant for.
func sameOriginRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, via[0].URL) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// Do sends req and returns the response, recovering from conflicts on the
// way. It has the signature of [http.Client.Do], so a *Client can stand
// wherever a generated API client expects a doer.
//
// A response that is not a conflict is returned as it is, whatever its
// status, with a nil error, as http.Client does. A conflict that was
// recovered returns the response of the recovery (the re-sent write, the
// adopted resource, or the current representation for [ServerWins]);
// [ResultOf] tells what happened. A conflict that was not recovered returns
// a nil response and an [*Error]; its response body has been drained and
// closed. A transport failure returns the error of the underlying
// http.Client after the transport retries, and a cancelled or expired
// context returns at once with an error for which errors.Is(err,
// context.Canceled) (or DeadlineExceeded) holds; cancellation says nothing
// about whether the server applied the write, and the idempotency key is how
// to find out.
//
// Do never modifies req. It closes req.Body, as http.Client does. The body
// is re-sent through req.GetBody when the request has one; otherwise Do
// buffers up to [Limits].MaxBodyBuffer bytes, and a larger body is sent
// once, never retried.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	c.init()
	return c.do(req, sendCaller)
}

// RoundTrip implements [http.RoundTripper] with the same recoveries as Do,
// for code that takes an *http.Client (see [Client.StandardClient]). It
// differs from Do in two ways, as the RoundTripper contract asks: it never
// follows redirects (the *http.Client around it does, with its own
// CheckRedirect), and a conflict that was not recovered is returned as the
// server's original response, body intact and unread, so that a generated
// client can decode its own conflict type; [ResultOf] on that response gives
// the [*Error].
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	c.init()
	return c.do(req, sendPassthrough)
}

// StandardClient returns an *http.Client that sends through c, for code
// that takes one: oapi-codegen's WithHTTPClient, ogen's WithClient,
// openapi-generator's Configuration.HTTPClient, go-swagger's runtime. It
// behaves as [Client.RoundTrip] describes, and it keeps the Jar,
// CheckRedirect and Timeout of the client given to [WithHTTPClient].
func (c *Client) StandardClient() *http.Client {
	c.init()
	return &http.Client{Transport: c, Jar: c.hc.Jar, CheckRedirect: c.hc.CheckRedirect, Timeout: c.hc.Timeout}
}

// CloseIdleConnections closes idle connections of the underlying transport.
func (c *Client) CloseIdleConnections() {
	c.init()
	c.hc.CloseIdleConnections()
}

// redact drops user information, query and fragment from u.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}
