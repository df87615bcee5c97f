package conflicttest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxBodyBytes bounds request bodies; larger ones are answered 413.
const maxBodyBytes = 1 << 20

// A handlerFunc computes the reply to one request. It runs with s.mu held,
// so it sees and changes the state atomically.
type handlerFunc func(c *call) *reply

// call is one request as the handlers see it.
type call struct {
	r         *http.Request
	body      []byte
	key       string // the idempotency key, unquoted; "" if none
	requestID string
}

// reply is a complete response, kept as bytes so that it can be stored for
// idempotent replay.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// serve runs the request pipeline: count, faults, body, idempotency, the
// handler under the lock, then the reply (or a dropped connection).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	c := &call{r: r, requestID: w.Header().Get("X-Request-Id")}
	s.countRequest(r.Pattern)

	plan := s.faults.plan(r)
	if plan.latency > 0 && !sleep(r.Context(), plan.latency) {
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.write(w, s.fail(c, kindTooLarge, http.StatusRequestEntityTooLarge, "the request body is larger than 1 MiB"))
		} else {
			s.write(w, s.fail(c, kindBadRequest, http.StatusBadRequest, "the request body could not be read"))
		}
		return
	}
	c.body = body

	if r.Method == http.MethodPost {
		if raw := r.Header.Values(s.cfg.idempotencyField); len(raw) > 0 {
			key, ok := parseKey(raw)
			if !ok {
				s.write(w, s.fail(c, kindBadRequest, http.StatusBadRequest,
					"the "+s.cfg.idempotencyField+" header must be one token or one quoted string"))
				return
			}
			c.key = key
		}
	}

	if plan.fail {
		rep := s.fail(c, kindUnavailable, http.StatusServiceUnavailable, "the service is temporarily unavailable; nothing was changed")
		rep.header.Set("Retry-After", "0")
		s.write(w, rep)
		return
	}

	var rep *reply
	if c.key != "" {
		rep = s.serveIdempotent(c, h, plan.inFlight)
		if rep == nil {
			return // the client went away while the key was in flight
		}
	} else {
		s.mu.Lock()
		rep = h(c)
		s.mu.Unlock()
	}

	if plan.drop {
		drop(w)
		return
	}
	s.write(w, rep)
}

// write sends rep. The X-Request-Id header is already set (by routes).
func (s *Server) write(w http.ResponseWriter, rep *reply) {
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	if len(rep.body) > 0 {
		h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body) //nolint:errcheck // the client may be gone; nothing to do
}

// drop closes the connection without writing a response, as if the
// network failed after the server committed the write.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, or a foreign ResponseWriter): abort the
		// response, which resets the stream or closes the connection.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// fail renders an error of kind with status in the Server's dialect.
func (s *Server) fail(c *call, kind errKind, status int, detail string) *reply {
	return s.render(c, &apiError{kind: kind, status: status, detail: detail})
}

// render completes e with the request's details and spells it in the
// Server's dialect, adding the headers every dialect shares.
func (s *Server) render(c *call, e *apiError) *reply {
	e.instance = c.r.URL.Path
	e.requestID = c.requestID
	e.keyHeader = s.cfg.idempotencyField
	if e.key == "" {
		e.key = c.key
	}
	location := e.existingID
	if !s.cfg.existingID {
		e.existingID = ""
	}
	rep := renderers[s.cfg.dialect](e)
	if e.kind == kindInUse {
		rep.header.Set("Retry-After", "1")
	}
	if e.kind == kindDuplicate && s.cfg.location && location != "" {
		rep.header.Set("Location", "/"+e.collection+"/"+location)
	}
	if e.kind == kindStale && e.current != nil {
		switch {
		case s.sendsETag():
			rep.header.Set("ETag", etag(e.version))
		case s.cfg.versionIn == VersionCustomHeader:
			rep.header.Set(s.cfg.names.Header, strconv.Itoa(e.version))
		}
	}
	if s.cfg.bareConflicts {
		switch rep.status {
		case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked:
			rep.body = nil
			for _, k := range []string{"Content-Type", "X-Ms-Error-Code"} {
				rep.header.Del(k)
			}
		}
	}
	return rep
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
