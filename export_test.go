package conflict

import (
	"context"
	"net/url"
	"time"
)

// withWait replaces the client's timer-based wait, so tests can observe and
// skip waits without sleeping.
func withWait(f func(ctx context.Context, d time.Duration) error) Option {
	return func(cfg *config) { cfg.wait = f }
}

// Waiting reports how many writers of c hold or await the turn of the
// resource at rawURL, for tests that must know a writer is queued.
func Waiting(c *Client, rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	c.queue.mu.Lock()
	defer c.queue.mu.Unlock()
	if s := c.queue.m[queueKey(u)]; s != nil {
		return s.refs
	}
	return 0
}
