package conflict

import (
	"net/http"
	"strings"
)

// rule is a Rule with its pattern.
type rule struct {
	pattern string
	Rule
}

// ruleSet finds the rule of a request. It reuses http.ServeMux for pattern
// syntax, precedence and validation.
type ruleSet struct {
	mux   *http.ServeMux // full patterns
	paths *http.ServeMux // patterns without their method: which URLs to remember reads of
	n     int
	host  bool // some pattern names a host
	// methods holds the methods the patterns name; any is set when a
	// pattern names none. A request of another method matches no rule.
	methods map[string]bool
	any     bool
}

type ruleHandler struct{ r *rule }

func (ruleHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

func newRuleSet(rules []rule) *ruleSet {
	s := &ruleSet{n: len(rules)}
	if len(rules) == 0 {
		return s
	}
	s.mux, s.paths = http.NewServeMux(), http.NewServeMux()
	s.methods = map[string]bool{}
	seen := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		r.Statuses = append([]int(nil), r.Statuses...)
		s.mux.Handle(r.pattern, ruleHandler{r}) // panics on a bad pattern
		path := r.pattern
		if i := strings.IndexAny(path, " \t"); i >= 0 {
			path = strings.TrimSpace(path[i:])
			m := r.pattern[:i]
			s.methods[m] = true
			if m == http.MethodGet {
				s.methods[http.MethodHead] = true // as ServeMux matches them
			}
		} else {
			s.any = true
		}
		s.host = s.host || !strings.HasPrefix(path, "/")
		if !seen[path] {
			seen[path] = true
			s.paths.Handle(path, ruleHandler{r})
		}
	}
	return s
}

// match returns the rule for req, or nil.
func (s *ruleSet) match(req *http.Request) *rule {
	if !s.any && !s.methods[req.Method] {
		return nil
	}
	return lookup(s.mux, s.withHost(req))
}

// withHost gives a client request, whose Host is usually empty, the host of
// its URL, for patterns that name a host.
func (s *ruleSet) withHost(req *http.Request) *http.Request {
	if !s.host || req.Host != "" || req.URL == nil {
		return req
	}
	r := *req
	r.Host = req.URL.Host
	return &r
}

// matchPath returns a rule whose path matches req's URL, whatever its
// method: the reads of such URLs are remembered as merge bases.
func (s *ruleSet) matchPath(req *http.Request) *rule {
	return lookup(s.paths, s.withHost(req))
}

func lookup(mux *http.ServeMux, req *http.Request) *rule {
	if mux == nil {
		return nil
	}
	h, _ := mux.Handler(req)
	if rh, ok := h.(ruleHandler); ok {
		return rh.r
	}
	return nil
}
