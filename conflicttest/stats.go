package conflicttest

import "maps"

// Stats is what a Server has seen since it started or since the last
// [Server.ResetStats]. Seeding with [Server.PutDocument] and reading with
// [Server.Document] are not requests and are not counted, except that a
// seeded document version is logged in Versions.
type Stats struct {
	// Requests counts requests per route pattern, such as
	// "PUT /documents/{id}" (a HEAD request counts under its GET route).
	// Requests that match no route are not counted here.
	Requests map[string]int

	// Commits counts writes that changed state: document updates, creates
	// and deletes, user, order and category creates, order transitions and
	// category updates. A replayed idempotent request commits nothing.
	Commits int

	// Creates counts resources created per unique value: users per email,
	// and orders and categories per idempotency key ("key:" + the key) when
	// the create carried one. A count above 1 means a duplicate slipped
	// through, which the Server never allows.
	Creates map[string]int

	// Versions lists, per document id, every version committed, in order.
	// A document deleted and created again continues its sequence, so the
	// list always grows by exactly one.
	Versions map[string][]int

	// Conflicts counts replies sent per status code, for every status of
	// 400 or more (404s and 503s included, despite the name). Dropped
	// responses were never sent and are not counted.
	Conflicts map[int]int
}

func newStats() Stats {
	return Stats{
		Requests:  map[string]int{},
		Creates:   map[string]int{},
		Versions:  map[string][]int{},
		Conflicts: map[int]int{},
	}
}

// Stats returns a deep copy of the Server's statistics; its maps are never
// nil.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Requests:  maps.Clone(s.stats.Requests),
		Commits:   s.stats.Commits,
		Creates:   maps.Clone(s.stats.Creates),
		Versions:  make(map[string][]int, len(s.stats.Versions)),
		Conflicts: maps.Clone(s.stats.Conflicts),
	}
	for id, v := range s.stats.Versions {
		st.Versions[id] = append([]int(nil), v...)
	}
	return st
}

// ResetStats sets every statistic back to zero. It does not change the
// resources, their versions or the idempotency keys remembered.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}

func (s *Server) countRequest(pattern string) {
	if pattern == "" {
		return
	}
	s.mu.Lock()
	s.stats.Requests[pattern]++
	s.mu.Unlock()
}

func (s *Server) countStatus(code int) {
	if code < 400 {
		return
	}
	s.mu.Lock()
	s.stats.Conflicts[code]++
	s.mu.Unlock()
}
