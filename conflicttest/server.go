package conflicttest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
)

// A Server is an HTTP API listening on a system-chosen port on the local
// loopback interface, for use in tests. It is safe for concurrent use: its
// state sits behind one mutex, so writes are linearizable. Create one with
// [NewServer] or [NewUnstartedServer]; the zero Server is not usable.
type Server struct {
	// URL is the base URL of the form http://127.0.0.1:port, with no
	// trailing slash. It is empty until the Server is started.
	URL string

	ts      *httptest.Server
	cfg     config
	handler http.Handler
	reqSeq  atomic.Uint64
	faults  faultState

	mu         sync.Mutex // guards everything below
	docs       map[string]*document
	users      []*user
	userByID   map[string]*user
	userByMail map[string]*user
	orders     map[string]*order
	categories map[string]*category
	idem       map[string]*idemEntry
	stats      Stats
}

// NewServer starts and returns a new Server configured by opts. The caller
// should call Close when finished, to shut it down. NewServer panics if an
// option names an unknown [Dialect] or an unknown fault route, as
// [http.ServeMux] panics on a malformed pattern.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a new Server but does not start it, like
// [httptest.NewUnstartedServer]. After changing its configuration (through
// [Server.SetFaults] or by seeding data), the caller should call Start,
// and Close when finished (even if it never starts it, or only mounts its
// [Server.Handler] elsewhere: the listener is already open). It panics like
// [NewServer].
func NewUnstartedServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if _, ok := renderers[cfg.dialect]; !ok {
		panic(fmt.Sprintf("conflicttest: unknown dialect %q (want one of %v)", cfg.dialect, Dialects()))
	}
	switch cfg.versionIn {
	case VersionHeader, VersionBody, VersionQuery, VersionCustomHeader:
	default:
		cfg.versionIn = VersionEither
	}
	if cfg.names.Field == "-" {
		if cfg.versionIn != VersionQuery && cfg.versionIn != VersionCustomHeader {
			panic(fmt.Sprintf("conflicttest: VersionNames.Field \"-\" needs VersionQuery or VersionCustomHeader, not %s", cfg.versionIn))
		}
	} else {
		path, ok := parsePointer(cfg.names.Field)
		if !ok {
			panic(fmt.Sprintf("conflicttest: VersionNames.Field %q is not a JSON Pointer with at least one segment", cfg.names.Field))
		}
		cfg.fieldPath = path
	}
	s := &Server{
		cfg:        cfg,
		docs:       map[string]*document{},
		userByID:   map[string]*user{},
		userByMail: map[string]*user{},
		orders:     map[string]*order{},
		categories: map[string]*category{},
		idem:       map[string]*idemEntry{},
		stats:      newStats(),
	}
	s.faults.set(cfg.faults)
	s.handler = s.routes()
	s.ts = httptest.NewUnstartedServer(s.handler)
	return s
}

// Start starts a Server from NewUnstartedServer. It panics if the Server
// was already started.
func (s *Server) Start() {
	s.ts.Start()
	s.URL = s.ts.URL
}

// Close shuts the Server down and blocks until all outstanding requests on
// it have completed.
func (s *Server) Close() {
	s.ts.Close()
}

// Client returns an HTTP client configured for making requests to the
// Server. It is the [httptest.Server] client: Close closes its idle
// connections.
func (s *Server) Client() *http.Client {
	return s.ts.Client()
}

// Handler returns the API as an [http.Handler], for mounting in another
// server. Requests served through it share this Server's state, faults and
// statistics.
func (s *Server) Handler() http.Handler {
	return s.handler
}

// routePatterns lists every route in registration order; fault routes must
// be among them.
var routePatterns = []string{
	"POST /documents",
	"GET /documents/{id}",
	"PUT /documents/{id}",
	"PATCH /documents/{id}",
	"DELETE /documents/{id}",
	"POST /users",
	"GET /users",
	"GET /users/{id}",
	"POST /orders",
	"GET /orders/{id}",
	"POST /orders/{id}/{action}",
	"POST /categories",
	"GET /categories/{id}",
	"PUT /categories/{id}",
}

// routes builds the handler: a ServeMux of the API wrapped so that every
// reply carries a request id and its status is counted.
func (s *Server) routes() http.Handler {
	handlers := map[string]handlerFunc{
		"POST /documents":            s.insertDocument,
		"GET /documents/{id}":        s.getDocument,
		"PUT /documents/{id}":        s.putDocument,
		"PATCH /documents/{id}":      s.patchDocument,
		"DELETE /documents/{id}":     s.deleteDocument,
		"POST /users":                s.createUser,
		"GET /users":                 s.listUsers,
		"GET /users/{id}":            s.getUser,
		"POST /orders":               s.createOrder,
		"GET /orders/{id}":           s.getOrder,
		"POST /orders/{id}/{action}": s.transitionOrder,
		"POST /categories":           s.createCategory,
		"GET /categories/{id}":       s.getCategory,
		"PUT /categories/{id}":       s.putCategory,
	}
	mux := http.NewServeMux()
	for _, p := range routePatterns {
		h := handlers[p]
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, h) })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_"+strconv.FormatUint(s.reqSeq.Add(1), 10))
		mux.ServeHTTP(&recorder{ResponseWriter: w, s: s}, r)
	})
}

// recorder counts the status of every reply before it is written, so that
// Stats agrees with what a client has already received.
type recorder struct {
	http.ResponseWriter
	s     *Server
	wrote bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		w.s.countStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
