package conflicttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// idemEntry is what the Server remembers about one idempotency key.
type idemEntry struct {
	fingerprint string
	inFlight    bool
	done        *reply // the reply to replay, once the first request completed
}

// serveIdempotent runs h for a request that carries an idempotency key:
// replay, refuse (in use, mismatch) or claim the key, wait inFlight without
// the lock, then run h and record its reply. It returns nil if the client
// went away while the key was in flight; the key is then released.
func (s *Server) serveIdempotent(c *call, h handlerFunc, inFlight time.Duration) *reply {
	fp := fingerprint(c.r, c.body)
	s.mu.Lock()
	e := s.idem[c.key]
	switch {
	case e == nil:
		e = &idemEntry{fingerprint: fp, inFlight: true}
		s.idem[c.key] = e
	case e.fingerprint != fp:
		s.mu.Unlock()
		return s.render(c, &apiError{kind: kindMismatch, status: http.StatusUnprocessableEntity,
			detail: fmt.Sprintf("%s %q was already used with a different request (method, path or body)", s.cfg.idempotencyField, c.key)})
	case e.inFlight:
		s.mu.Unlock()
		return s.render(c, &apiError{kind: kindInUse, status: http.StatusConflict,
			detail: fmt.Sprintf("a request with %s %q is still being processed; retry later", s.cfg.idempotencyField, c.key)})
	default:
		s.mu.Unlock()
		return replay(e.done)
	}
	s.mu.Unlock()

	if inFlight > 0 && !sleep(c.r.Context(), inFlight) {
		s.mu.Lock()
		delete(s.idem, c.key)
		s.mu.Unlock()
		return nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rep := h(c)
	if rep.status >= 200 && rep.status < 300 {
		e.inFlight, e.done = false, rep
	} else {
		delete(s.idem, c.key) // errors are not remembered: a corrected retry may use the key
	}
	return rep
}

// replay returns a copy of a stored reply marked as replayed.
func replay(done *reply) *reply {
	h := done.header.Clone()
	h.Set("Idempotent-Replayed", "true")
	return &reply{status: done.status, header: h, body: done.body}
}

// parseKey returns the key in an idempotency header: a bare token, or an
// RFC 8941 sf-string ("abc", with \" and \\ escapes). Both forms of the same
// characters are the same key.
func parseKey(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	v := strings.TrimSpace(values[0])
	if v == "" {
		return "", false
	}
	if v[0] != '"' {
		if strings.ContainsAny(v, "\" \t,") {
			return "", false
		}
		return v, true
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch ch := v[i]; {
		case ch == '\\':
			if i+1 >= len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
				return "", false
			}
			i++
			b.WriteByte(v[i])
		case ch == '"':
			if i != len(v)-1 || b.Len() == 0 {
				return "", false
			}
			return b.String(), true
		case ch < 0x20 || ch > 0x7e:
			return "", false
		default:
			b.WriteByte(ch)
		}
	}
	return "", false // no closing quote
}

// fingerprint identifies a request for key reuse: method, path and query,
// and the SHA-256 of the body with JSON canonicalised (keys sorted, white
// space removed, numbers as written), or of the raw bytes if it is not JSON.
func fingerprint(r *http.Request, body []byte) string {
	canon := body
	if v, err := decode(body); err == nil {
		canon = marshal(v)
	}
	sum := sha256.Sum256(canon)
	return r.Method + " " + r.URL.RequestURI() + " " + hex.EncodeToString(sum[:])
}

// decode parses one JSON value, keeping numbers exactly as written.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// marshal encodes v without HTML escaping. v never fails to encode: it is
// built from decoded JSON and the package's own types.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("conflicttest: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
