package journal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// rebuild makes the request of a recorded intent. It carries no
// credentials: the client's transport adds them.
func rebuild(ctx context.Context, rec *Record) (*http.Request, error) {
	req, err := http.NewRequestWithContext(sendContext(ctx, rec.IdempotencyKey, rec.Base), rec.Method, rec.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("journal: intent %s: %w", rec.ID, err)
	}
	req.Header = rec.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if rec.Host != "" {
		req.Host = rec.Host
	}
	setBody(req, rec.Body)
	return req, nil
}

// setBody gives req a replayable body of data.
func setBody(req *http.Request, data []byte) {
	if data == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
		return
	}
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.Body, _ = req.GetBody()
}

// readBody reads and closes req's body, up to limit bytes.
func readBody(req *http.Request, limit int64) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("journal: reading the request body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

func drainClose(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	resp.Body.Close()
}

func isWrite(method string) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// headerKey reads a key from an idempotency header value, bare or quoted.
func headerKey(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// newID returns 16 random bytes in hex.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24); before, on no supported platform
	return hex.EncodeToString(b[:])
}

// delKey removes every spelling of the header name from h.
func delKey(h http.Header, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}
