// Package integration_test runs the conflict client against two real
// servers written by other people: pouchdb-server (the CouchDB HTTP API) and
// Azurite (the Azure Blob Storage emulator). Start them with
//
//	eval "$(.ci/peers.sh start)"   # prints CONFLICT_COUCHDB_URL, CONFLICT_AZURITE_URL, CONFLICT_AZURITE_SAS
//	go test -race -count=1 ./integration/...
//	.ci/peers.sh stop
//
// A test whose server is not reachable is skipped, unless CI=true, where
// it fails. The servers' answers to conflicts are recorded in
// ../shared/peers/*/PROBE.md.
package integration_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The public, constant account SAS that azurite/sas.js prints for the
// development account (see azurite/PROBE.md); used when
// CONFLICT_AZURITE_SAS is unset.
const defaultAzuriteSAS = "sv=2021-12-02&ss=b&srt=sco&spr=https%2Chttp&st=2020-01-01T00%3A00%3A00Z&se=2099-12-31T23%3A59%3A59Z&sp=rwdxftlacupi&sig=ZAde%2B4sihsw4Iee%2Bs%2FmlFA4mDzsdj3CzaVRIH97ee1A%3D"

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func couchURL() string {
	return strings.TrimRight(env("CONFLICT_COUCHDB_URL", "http://127.0.0.1:15984"), "/")
}
func azureURL() string {
	return strings.TrimRight(env("CONFLICT_AZURITE_URL", "http://127.0.0.1:10000/devstoreaccount1"), "/")
}
func azureSAS() string {
	return strings.TrimPrefix(env("CONFLICT_AZURITE_SAS", defaultAzuriteSAS), "?")
}

var (
	reachMu sync.Mutex
	reached = map[string]error{}
)

// requirePeer skips the test when the server at probe does not answer, or
// fails it when CI=true: in CI the servers must be there.
func requirePeer(t *testing.T, name, probe, hint string) {
	t.Helper()
	reachMu.Lock()
	err, seen := reached[probe]
	if !seen {
		c := &http.Client{Timeout: 3 * time.Second}
		var resp *http.Response
		resp, err = c.Get(probe)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		reached[probe] = err
	}
	reachMu.Unlock()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not reachable (%v); start it with `eval \"$(.ci/peers.sh start)\"` (%s)", name, err, hint)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg + "; with CI=true this is a failure")
}

func requireCouch(t *testing.T) {
	requirePeer(t, "pouchdb-server (CouchDB API)", couchURL()+"/", "or set CONFLICT_COUCHDB_URL")
}

func requireAzurite(t *testing.T) {
	requirePeer(t, "Azurite (Azure Blob)", azureURL()+"?comp=list&"+azureSAS(), "or set CONFLICT_AZURITE_URL and CONFLICT_AZURITE_SAS")
}

// unique returns prefix followed by a random lowercase hex suffix: a name
// valid both as a CouchDB database and as an Azure container.
func unique(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// counter is a RoundTripper that records every request it sends.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []string
}

func newCounter() *counter {
	return &counter{next: http.DefaultTransport.(*http.Transport).Clone()}
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	line := req.Method + " " + req.URL.Path
	if q := redactQuery(req.URL.Query()); q != "" {
		line += "?" + q
	}
	if err != nil {
		line += " -> " + err.Error()
	} else {
		line += fmt.Sprintf(" -> %d", resp.StatusCode)
		if code := resp.Header.Get("x-ms-error-code"); code != "" {
			line += " " + code
		}
	}
	c.mu.Lock()
	c.log = append(c.log, line)
	c.mu.Unlock()
	return resp, err
}

// redactQuery drops the SAS parameters, keeping the ones that say what a
// request is (restype, comp, rev).
func redactQuery(q url.Values) string {
	for _, k := range []string{"sv", "ss", "srt", "spr", "st", "se", "sp", "sig"} {
		q.Del(k)
	}
	return q.Encode()
}

func (c *counter) reset() {
	c.mu.Lock()
	c.log = nil
	c.mu.Unlock()
}

func (c *counter) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log)
}

// raw is the other writer: a plain client, outside the library.
var raw = &http.Client{Timeout: 30 * time.Second}

// send sends a request with the doer and returns the response with its
// body read and closed.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

func send(t testing.TB, d doer, method, u string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := d.Do(req)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, req.URL.Path, err)
	}
	return resp, data, nil
}

// must sends with the raw client and fails the test unless the status is
// one of want.
func must(t testing.TB, method, u string, body []byte, hdr map[string]string, want ...int) (*http.Response, []byte) {
	t.Helper()
	resp, data, err := send(t, raw, method, u, body, hdr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, data
		}
	}
	t.Fatalf("%s %s: status %d, want %v; body %s", method, stripQuery(u), resp.StatusCode, want, data)
	return nil, nil
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func decode(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decoding %q: %v", data, err)
	}
	return m
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logRecovery logs the requests and steps of one recovery.
func logRecovery(t testing.TB, what string, c *counter, l *libClient) {
	t.Helper()
	t.Logf("%s: %d requests:\n\t%s\n\tsteps: %s", what, c.count(), strings.Join(c.requests(), "\n\t"), strings.Join(l.steps(), " → "))
}
