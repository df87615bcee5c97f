package conflict

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// body is a request body that can be produced again.
type body struct {
	get   func() (io.ReadCloser, error) // nil: no body
	bytes []byte                        // the buffered body, when Do buffered it
	// first is the caller's own body, sent by the first send when GetBody
	// can produce it again; later sends use get.
	first io.ReadCloser
	// once is the body of a request that cannot be replayed: it is sent
	// once, by the first send.
	once    io.ReadCloser
	oneShot bool // the body is once's: it cannot be sent again
}

// close closes a body the call was handed and did not send.
func (b *body) close() {
	for _, rc := range []io.ReadCloser{b.first, b.once} {
		if rc != nil {
			rc.Close()
		}
	}
}

// replayable reports whether the body can be sent again.
func (b *body) replayable() bool { return !b.oneShot }

// read returns the whole body, for a merge or a comparison.
func (b *body) read(limit int64) ([]byte, error) {
	if b.bytes != nil || b.get == nil {
		return b.bytes, nil
	}
	rc, err := b.get()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: request body larger than %d bytes", ErrNotReplayable, limit)
	}
	b.bytes = data
	return data, nil
}

// bytesBody returns a body producing data.
func bytesBody(data []byte) body {
	return body{bytes: data, get: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// replayBodyOf makes req's body replayable: through GetBody, or by buffering
// up to limit bytes. A larger body is returned as a send-once body. It
// closes req.Body when it does not hand it on (see body.close).
func replayBodyOf(req *http.Request, limit int64) (body, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return body{}, nil
	}
	if req.GetBody != nil {
		return body{get: req.GetBody, first: req.Body}, nil
	}
	data, err := readAll(req.Body, req.ContentLength, limit+1)
	if err != nil {
		req.Body.Close()
		return body{}, err
	}
	if int64(len(data)) <= limit {
		req.Body.Close()
		return bytesBody(data), nil
	}
	rest := req.Body
	return body{oneShot: true, once: struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), rest), rest}}, nil
}

// releaseBody calls release when the response body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// sent returns the whole body, or nil when it cannot be read again.
func (b *body) sent(limit int64) []byte {
	if !b.replayable() {
		return nil
	}
	data, err := b.read(limit)
	if err != nil {
		return nil
	}
	return data
}

// readAll reads r to its end, or to limit bytes, into a buffer sized by
// size (a Content-Length; -1 when unknown), so that a body of announced
// length takes one allocation. EOF is not an error.
func readAll(r io.Reader, size, limit int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 && size < limit {
		n = size + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, n)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(limit, int64(cap(buf))*2))-len(buf))
		}
		m, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
