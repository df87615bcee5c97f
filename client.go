package conflict

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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
	sender *retry.Sender
	rules  *ruleSet
	bases  *baseCache
	seq    atomic.Uint64 // numbers calls, for events
}

// New returns a Client configured by opts. With no options it classifies
// conflicts, attaches idempotency keys to POST requests, retries transport
// failures of requests that are safe to re-send, waits out idempotency keys
// in use and locked resources, and aborts on everything else.
//
// New panics if a rule's pattern is malformed or registered twice, as
// [http.ServeMux.Handle] does.
func New(opts ...Option) *Client {
	c := new(Client)
	c.once.Do(func() { c.setup(opts) })
	return c
}

func (c *Client) init() { c.once.Do(func() { c.setup(nil) }) }

func (c *Client) setup(opts []Option) {
	cfg := config{transportRetries: -1}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.httpClient == nil {
		cfg.httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if cfg.maxAttempts < 1 {
		cfg.maxAttempts = DefaultMaxAttempts
	}
	if cfg.maxElapsed <= 0 {
		cfg.maxElapsed = DefaultMaxElapsed
	}
	if cfg.maxWait <= 0 {
		cfg.maxWait = DefaultMaxWait
	}
	if cfg.backoffMin <= 0 {
		cfg.backoffMin = 50 * time.Millisecond
	}
	if cfg.backoffMax <= 0 {
		cfg.backoffMax = 2 * time.Second
	}
	if cfg.transportRetries < 0 {
		cfg.transportRetries = DefaultTransportRetries
	}
	if cfg.maxBodyBuffer < 1 {
		cfg.maxBodyBuffer = DefaultMaxBodyBuffer
	}
	if cfg.baseCache < 1 {
		cfg.baseCache = 1024
	}
	if cfg.keyHeader == "" {
		cfg.keyHeader = DefaultIdempotencyHeader
	}
	if cfg.wait == nil {
		cfg.wait = sleep
	}
	c.cfg = cfg
	c.rules = newRuleSet(cfg.rules) // panics on a bad pattern
	c.bases = newBaseCache(cfg.baseCache)
	c.sender = retry.New(retry.Config{
		HTTPClient:    cfg.httpClient,
		Logger:        cfg.logger,
		MaxRetries:    cfg.transportRetries,
		WaitMin:       cfg.backoffMin,
		WaitMax:       cfg.backoffMax,
		MaxRetryAfter: cfg.maxWait,
	})
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
// buffers up to [DefaultMaxBodyBuffer] bytes ([WithMaxBodyBuffer]), and a
// larger body is sent once, never retried.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	c.init()
	resp, err := c.do(req, false)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// RoundTrip implements [http.RoundTripper] with the same recoveries as Do,
// for code that takes an *http.Client (see [Client.StandardClient]). It
// differs from Do in one way: a conflict that was not recovered is returned
// as the server's original response, body intact and unread, so that a
// generated client can decode its own conflict type; [ResultOf] on that
// response gives the [*Error].
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	c.init()
	return c.do(req, true)
}

// StandardClient returns an *http.Client that sends through c, for code
// that takes one: oapi-codegen's WithHTTPClient, ogen's WithClient,
// openapi-generator's Configuration.HTTPClient, go-swagger's runtime. It
// behaves as [Client.RoundTrip] describes.
func (c *Client) StandardClient() *http.Client {
	return &http.Client{Transport: c}
}

// CloseIdleConnections closes idle connections of the underlying client.
func (c *Client) CloseIdleConnections() {
	c.init()
	c.cfg.httpClient.CloseIdleConnections()
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// body is a request body that can be produced again.
type body struct {
	get   func() (io.ReadCloser, error) // nil: no body
	bytes []byte                        // the buffered body, when Do buffered it
	// first is the caller's own body, sent by the first send when GetBody
	// can produce it again; later sends use get.
	first io.ReadCloser
	// once is the body of a request that cannot be replayed: it is sent
	// once, by the first send.
	once io.ReadCloser
}

// close closes a body the call was handed and did not send.
func (b *body) close() {
	for _, rc := range []io.ReadCloser{b.first, b.once} {
		if rc != nil {
			rc.Close()
		}
	}
}

// replayable reports whether the body can be sent again.
func (b *body) replayable() bool { return b.once == nil }

// read returns the whole body, for a merge or a comparison.
func (b *body) read(limit int64) ([]byte, error) {
	if b.bytes != nil || b.get == nil {
		return b.bytes, nil
	}
	rc, err := b.get()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: request body larger than %d bytes", ErrNotReplayable, limit)
	}
	b.bytes = data
	return data, nil
}

// bytesBody returns a body producing data.
func bytesBody(data []byte) body {
	return body{bytes: data, get: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// replayBodyOf makes req's body replayable: through GetBody, or by buffering
// up to limit bytes. A larger body is returned as a send-once body. It
// closes req.Body when it does not hand it on (see body.close).
func replayBodyOf(req *http.Request, limit int64) (body, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return body{}, nil
	}
	if req.GetBody != nil {
		return body{get: req.GetBody, first: req.Body}, nil
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		req.Body.Close()
		return body{}, err
	}
	if int64(len(data)) <= limit {
		req.Body.Close()
		return bytesBody(data), nil
	}
	rest := req.Body
	return body{once: struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), rest), rest}}, nil
}

// drain reads a little of a discarded response so its connection can be
// reused, and closes it.
func drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}
