package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-conflict/conflict"
)

// problemBody is a 1 KiB problem+json stale-version conflict.
var problemBody = func() []byte {
	b := `{"type":"https://api.example.com/problems/version-conflict","title":"Version conflict","status":409,` +
		`"detail":"The document was modified by another writer since version 3 was read.","instance":"/documents/7",` +
		`"code":"version_conflict","field":"title","current_version":4,"request_id":"req-2f9c0d1e",` +
		`"current":{"id":"7","title":"Quarterly report","owner":"ana","tags":["finance","q3"],"version":4,"body":"`
	b += strings.Repeat("lorem ipsum ", 1024)
	b = b[:1024-3] + `"}}`
	return []byte(b)
}()

func newResponse(body []byte) *http.Response {
	return &http.Response{
		StatusCode:    409,
		Header:        http.Header{"Content-Type": {"application/problem+json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// problemStruct is what a caller would decode a known problem shape into.
type problemStruct struct {
	Type           string          `json:"type"`
	Title          string          `json:"title"`
	Status         int             `json:"status"`
	Detail         string          `json:"detail"`
	Instance       string          `json:"instance"`
	Code           string          `json:"code"`
	Field          string          `json:"field"`
	CurrentVersion int             `json:"current_version"`
	Current        json.RawMessage `json:"current"`
}

// BenchmarkClassify compares classifying a 1 KiB problem+json 409 with
// reading and decoding the same body bare, in the same run.
func BenchmarkClassify(b *testing.B) {
	if len(problemBody) != 1024 || !json.Valid(problemBody) {
		b.Fatalf("fixture is %d bytes, valid=%v", len(problemBody), json.Valid(problemBody))
	}
	b.Run("conflict.Classify", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(problemBody)))
		for i := 0; i < b.N; i++ {
			c, err := conflict.Classify(newResponse(problemBody))
			if err != nil || c.Kind != conflict.StaleVersion {
				b.Fatal(c, err)
			}
		}
	})
	b.Run("json.Unmarshal/map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(problemBody)))
		for i := 0; i < b.N; i++ {
			resp := newResponse(problemBody)
			body, _ := io.ReadAll(resp.Body)
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal/struct", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(problemBody)))
		for i := 0; i < b.N; i++ {
			resp := newResponse(problemBody)
			body, _ := io.ReadAll(resp.Body)
			var p problemStruct
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
