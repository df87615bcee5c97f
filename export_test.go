package conflict

import (
	"context"
	"time"
)

// withWait replaces the client's timer-based wait, so tests can observe and
// skip waits without sleeping.
func withWait(f func(ctx context.Context, d time.Duration) error) Option {
	return func(cfg *config) { cfg.wait = f }
}
