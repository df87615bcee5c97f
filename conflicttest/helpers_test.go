package conflicttest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-conflict/conflict/conflicttest"
)

// newServer starts a Server that is closed when the test ends.
func newServer(t *testing.T, opts ...conflicttest.Option) *conflicttest.Server {
	t.Helper()
	srv := conflicttest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// response is what a test needs from one exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value, numbers as json.Number.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding body %q: %v", r.body, err)
	}
	return m
}

// do sends one request; headers alternate name, value.
func do(t *testing.T, srv *conflicttest.Server, method, path, body string, headers ...string) response {
	t.Helper()
	resp, err := send(srv.Client(), srv.URL, method, path, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// send is do without a *testing.T, for goroutines.
func send(c *http.Client, base, method, path, body string, headers ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// get walks a decoded JSON value by object keys and array indexes ("0").
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// str is get as a string ("" if absent or not a string).
func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

// num is get as an int (-1 if absent or not a number).
func num(v any, path ...string) int {
	n, ok := get(v, path...).(json.Number)
	if !ok {
		return -1
	}
	i, err := n.Int64()
	if err != nil {
		return -1
	}
	return int(i)
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body %s", r.status, want, r.body)
	}
}
