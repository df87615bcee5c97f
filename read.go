package conflict

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict/internal/retry"
)

var (
	errCrossOrigin = errors.New("the resource is on another origin; it is not read")
	errRedirected  = errors.New("the read was redirected; a redirected read is not a read of the resource")
)

// writeHeaders belong to the write, not to a read of its resource.
var writeHeaders = []string{"Content-Type", "Content-Length", "Content-Encoding", "If-Match", "If-None-Match",
	"If-Modified-Since", "If-Unmodified-Since", "If-Range", "Content-Md5", "Content-Digest", "Repr-Digest", "Digest"}

// read GETs u, on the call's origin only, with the caller's headers less
// those that belong to the write, and returns the 200 response with its body
// read. It never follows a redirect: a read answered 3xx stops recovery.
func (st *call) read(u *url.URL) (*http.Response, []byte, *halt) {
	if !sameOrigin(u, st.orig.URL) {
		return nil, nil, &halt{reason: ErrUnrecoverable, err: errCrossOrigin}
	}
	req, err := http.NewRequestWithContext(st.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, &halt{reason: ErrUnrecoverable, err: err}
	}
	req.Header = st.orig.Header.Clone()
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	for _, k := range writeHeaders {
		delHeader(req.Header, k)
	}
	if st.keyHeader != "" {
		delHeader(req.Header, st.keyHeader)
	}
	req.Host = st.orig.Host
	send := st.c.reader.Do
	if st.passthrough {
		send = st.c.transport.RoundTrip
	}
	st.out.sends.Add(1)
	resp, err := retry.Do(send, req, st.policy(), true, st.onRetry)
	if err != nil {
		if ctxErr := st.ctxErr(); ctxErr != nil {
			return nil, nil, &halt{reason: ctxErr}
		}
		return nil, nil, &halt{reason: ErrUnrecoverable, err: redactErr(err)}
	}
	if resp.StatusCode/100 == 3 {
		drain(resp)
		return nil, nil, &halt{reason: ErrUnrecoverable, err: fmt.Errorf("GET %s answered %d: %w", redact(u), resp.StatusCode, errRedirected)}
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return nil, nil, &halt{reason: ErrUnrecoverable, err: fmt.Errorf("GET %s answered %d", redact(u), resp.StatusCode)}
	}
	limit := st.c.limits.MaxBodyBuffer
	data, err := readAll(resp.Body, resp.ContentLength, limit+1)
	resp.Body.Close()
	if err != nil {
		if ctxErr := st.ctxErr(); ctxErr != nil {
			return nil, nil, &halt{reason: ctxErr}
		}
		return nil, nil, &halt{reason: ErrUnrecoverable, err: err}
	}
	if int64(len(data)) > limit {
		return nil, nil, &halt{reason: ErrUnrecoverable, err: fmt.Errorf("GET %s: representation larger than %d bytes", redact(u), limit)}
	}
	return resp, data, nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return u.Hostname() + ":80"
	case "https":
		return u.Hostname() + ":443"
	}
	return u.Host
}

// drain reads a little of a discarded response so its connection can be
// reused, and closes it.
func drain(resp *http.Response) { retry.Drain(resp) }
