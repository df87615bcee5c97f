package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-conflict/conflict"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// doer is what *http.Client and *conflict.Client have in common.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// newTransport returns a clone of http.DefaultTransport that keeps up to n
// idle connections to one host, so that n concurrent callers reuse their
// connections instead of opening new ones.
func newTransport(n int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = max(tr.MaxIdleConns, n)
	tr.MaxIdleConnsPerHost = n
	return tr
}

// drain reads the rest of a response body and closes it, so the connection
// is reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// versionMode is where a document write carries its precondition.
type versionMode int

const (
	// inHeader: If-Match with the ETag of the read (412 when stale).
	inHeader versionMode = iota
	// inBody: the "version" member of the body only (409 when stale).
	inBody
)

func (m versionMode) String() string {
	if m == inBody {
		return "409 body version"
	}
	return "412 If-Match"
}

// getDoc reads a document: its members and its ETag. Through a
// *conflict.Client with a rule for the URL, reading the body to its end is
// what makes the client remember it as a merge base.
func getDoc(c doer, url string) (map[string]json.RawMessage, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, data)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, "", err
	}
	return doc, resp.Header.Get("ETag"), nil
}

// putDoc writes doc, conditional on etag (mode inHeader) or on the
// "version" member doc carries (mode inBody).
func putDoc(c doer, url string, mode versionMode, etag string, doc map[string]json.RawMessage) (*http.Response, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if mode == inHeader {
		req.Header.Set("If-Match", etag)
	}
	return c.Do(req)
}

// bump adds one to the integer member field of doc.
func bump(doc map[string]json.RawMessage, field string) error {
	n, err := strconv.Atoi(string(doc[field]))
	if err != nil {
		return fmt.Errorf("member %q = %s: %w", field, doc[field], err)
	}
	doc[field] = json.RawMessage(strconv.Itoa(n + 1))
	return nil
}

// counterDoc returns a document with one counter per writer, all zero.
func counterDoc(writers int) string {
	var b strings.Builder
	b.WriteString(`{"title":"shared counters"`)
	for w := range writers {
		fmt.Fprintf(&b, `,%q:0`, fieldOf(w))
	}
	b.WriteString(`}`)
	return b.String()
}

func fieldOf(w int) string { return fmt.Sprintf("w%02d", w) }

// conflictUpdate is the read-modify-write a user of conflict writes: GET
// through the client (which remembers the representation as the merge
// base), change one field, PUT on the version read. The client refreshes,
// merges and re-sends when the PUT is stale. between, if set, runs after
// the read and before the write. It returns the sends of the PUT.
func conflictUpdate(c *conflict.Client, url, field string, mode versionMode, between func()) (int, error) {
	doc, etag, err := getDoc(c, url)
	if err != nil {
		return 0, err
	}
	if err := bump(doc, field); err != nil {
		return 0, err
	}
	if between != nil {
		between()
	}
	resp, err := putDoc(c, url, mode, etag, doc)
	if err != nil {
		var e *conflict.Error
		if errors.As(err, &e) {
			return e.Attempts, err
		}
		return 1, err
	}
	drain(resp)
	res := conflict.ResultOf(resp)
	if resp.StatusCode != http.StatusOK {
		return res.Attempts, fmt.Errorf("PUT %s: %s", url, resp.Status)
	}
	return res.Attempts, nil
}

// documents is the group-resource the RetryOnConflict loop names in its
// conflict errors.
var documents = schema.GroupResource{Resource: "documents"}

// rocUpdate is the same read-modify-write as Kubernetes clients write it:
// retry.RetryOnConflict around GET, change, conditional PUT, with a 409 or
// 412 turned into an apierrors Conflict so that RetryOnConflict retries.
// between, if set, runs after the first read and before the first write.
// It returns the sends of the PUT.
func rocUpdate(hc *http.Client, backoff wait.Backoff, url, field string, mode versionMode, between func()) (int, error) {
	attempts := 0
	err := retry.RetryOnConflict(backoff, func() error {
		doc, etag, err := getDoc(hc, url)
		if err != nil {
			return err
		}
		if err := bump(doc, field); err != nil {
			return err
		}
		if between != nil && attempts == 0 {
			between()
		}
		attempts++
		resp, err := putDoc(hc, url, mode, etag, doc)
		if err != nil {
			return err
		}
		drain(resp)
		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusConflict, http.StatusPreconditionFailed:
			name := url[strings.LastIndexByte(url, '/')+1:]
			return apierrors.NewConflict(documents, name, fmt.Errorf("PUT answered %s", resp.Status))
		}
		return fmt.Errorf("PUT %s: %s", url, resp.Status)
	})
	return attempts, err
}

// largeRetry is retry.DefaultRetry with enough steps to finish under heavy
// contention.
var largeRetry = func() wait.Backoff {
	b := retry.DefaultRetry
	b.Steps = 1000
	return b
}()

// percentile returns the p-th percentile (0 < p <= 100) of xs, nearest
// rank.
func percentile(xs []int, p float64) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// sumRequests adds up the requests of every route.
func sumRequests(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// tableLog logs rows of cells as an aligned table.
func tableLog(t testing.TB, rows [][]string) {
	t.Helper()
	widths := []int{}
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, r := range rows {
		for i, c := range r {
			fmt.Fprintf(&b, "| %-*s ", widths[i], c)
		}
		b.WriteString("|\n")
	}
	t.Log(b.String())
}
