package conflict_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// TestContention: 8 writers update one conflicttest document at the
// client's default limits, each its own counter, through one shared client
// and through a client each (as separate processes would), both with Do and
// a merge rule and with Update. Every update lands exactly once; none is
// aborted.
func TestContention(t *testing.T) {
	t.Parallel()
	const writers = 8
	each := 20
	if testing.Short() {
		each = 8
	}
	for _, shared := range []bool{true, false} {
		for _, via := range []string{"Do", "Update"} {
			name := fmt.Sprintf("%s/shared=%v", via, shared)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := conflicttest.NewServer()
				t.Cleanup(srv.Close)
				srv.PutDocument("d", `{"title":"contended"}`)
				url := srv.URL + "/documents/d"
				newClient := func() *conflict.Client {
					return conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{
						Merge: jsonmerge.Merge,
					}))
				}
				one := newClient()
				var wg sync.WaitGroup
				var mu sync.Mutex
				var aborts []string
				landed := make([]int, writers)
				for w := range writers {
					c := one
					if !shared {
						c = newClient()
					}
					field := fmt.Sprintf("w%d", w)
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range each {
							var err error
							if via == "Update" {
								_, err = conflict.Update(context.Background(), c, url, func(d *map[string]any) error {
									n, _ := (*d)[field].(float64)
									(*d)[field] = n + 1
									return nil
								})
							} else {
								err = readModifyWrite(c, url, field)
							}
							mu.Lock()
							if err != nil {
								aborts = append(aborts, err.Error())
							} else {
								landed[w]++
							}
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if len(aborts) > 0 {
					t.Errorf("%d of %d updates failed; first: %s", len(aborts), writers*each, aborts[0])
				}
				body, _, _ := srv.Document("d")
				var doc map[string]any
				json.Unmarshal(body, &doc)
				for w := range writers {
					if got := doc[fmt.Sprintf("w%d", w)]; got != float64(landed[w]) {
						t.Errorf("w%d = %v, want %d: an update was lost or doubled", w, got, landed[w])
					}
				}
			})
		}
	}
}

// readModifyWrite reads the document through c, increments field, and
// writes it back with its ETag; a stale write is merged by c.
func readModifyWrite(c *conflict.Client, url, field string) error {
	get, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := c.Do(get)
	if err != nil {
		return err
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	n, _ := doc[field].(float64)
	doc[field] = n + 1
	body, _ := json.Marshal(doc)
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(string(body)))
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT answered %d", resp.StatusCode)
	}
	return nil
}
