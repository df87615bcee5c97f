package conflicttest

import (
	"fmt"
	"math/rand"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Faults describes the failures a Server injects. The zero value injects
// none. Faults apply to the requests in scope: those whose route is listed
// in Routes, or every write (POST, PUT, PATCH, DELETE) if Routes is empty.
type Faults struct {
	// Seed seeds the source of all fault randomness (math/rand), so a run
	// can be reproduced: the same requests in the same order meet the same
	// faults. Each request in scope draws two numbers, whatever the
	// probabilities.
	Seed int64

	// DropAfterCommit is the probability that a request is handled (and a
	// write committed, its idempotency key recorded) but the connection is
	// then closed without any response. Note that [net/http.Transport]
	// itself resends a request that carries an Idempotency-Key header once
	// when a reused connection fails this way, so a client may see one
	// exchange where the Server saw two.
	DropAfterCommit float64

	// FailBeforeCommit is the probability that a request is answered 503
	// with Retry-After: 0 before anything is committed; its idempotency key
	// is not recorded.
	FailBeforeCommit float64

	// Latency is how long each request waits before it is handled.
	Latency time.Duration

	// InFlight is how long a POST with an idempotency key keeps the key "in
	// flight" before it commits; a request with the same key meanwhile is
	// answered 409. The wait does not hold the Server's lock.
	InFlight time.Duration

	// Routes restricts the faults to these route patterns, spelled as the
	// Server registers them, such as "POST /users", "PUT /documents/{id}"
	// or "POST /orders/{id}/{action}". Read routes ("GET /documents/{id}")
	// may be listed too. Empty means every write route.
	Routes []string
}

// SetFaults replaces the Server's faults and reseeds their random source
// from f.Seed; requests already running keep the faults they drew.
// Probabilities are clamped to [0, 1] and negative durations mean zero. It
// panics if f.Routes names a route the Server does not have.
func (s *Server) SetFaults(f Faults) {
	s.faults.set(f)
}

// faultState holds the current faults and their random source.
type faultState struct {
	mu     sync.Mutex
	f      Faults
	routes map[string]bool
	rng    *rand.Rand
}

// faultPlan is what one request meets.
type faultPlan struct {
	latency  time.Duration
	inFlight time.Duration
	fail     bool
	drop     bool
}

func (fs *faultState) set(f Faults) {
	routes := map[string]bool{}
	for _, r := range f.Routes {
		if !slices.Contains(routePatterns, r) {
			panic(fmt.Sprintf("conflicttest: unknown fault route %q (want one of %q)", r, routePatterns))
		}
		routes[r] = true
	}
	f.Routes = slices.Clone(f.Routes)
	f.DropAfterCommit = clamp(f.DropAfterCommit)
	f.FailBeforeCommit = clamp(f.FailBeforeCommit)
	f.Latency = max(f.Latency, 0)
	f.InFlight = max(f.InFlight, 0)

	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f, fs.routes, fs.rng = f, routes, rand.New(rand.NewSource(f.Seed))
}

// plan draws the faults r meets.
func (fs *faultState) plan(r *http.Request) faultPlan {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.routes) > 0 {
		if !fs.routes[r.Pattern] {
			return faultPlan{}
		}
	} else if !isWrite(r.Method) {
		return faultPlan{}
	}
	p := faultPlan{latency: fs.f.Latency, inFlight: fs.f.InFlight}
	failDraw, dropDraw := fs.rng.Float64(), fs.rng.Float64()
	p.fail = failDraw < fs.f.FailBeforeCommit
	p.drop = !p.fail && dropDraw < fs.f.DropAfterCommit
	return p
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func clamp(p float64) float64 {
	if !(p > 0) { // also NaN
		return 0
	}
	return min(p, 1)
}
