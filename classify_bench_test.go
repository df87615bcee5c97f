package conflict

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// bench1KiB are 1 KiB conflict bodies: a problem+json stale version with
// the current representation (the shape of bench/'s fixture), and a
// hand-written API's validation envelope that only the walk understands.
var bench1KiB = []struct {
	name, contentType string
	body              []byte
}{
	{"problem", "application/problem+json", pad1KiB(`{"type":"https://api.example.com/problems/version-conflict","title":"Version conflict","status":409,`+
		`"detail":"The document was modified by another writer since version 3 was read.","instance":"/documents/7",`+
		`"code":"version_conflict","field":"title","current_version":4,"request_id":"req-2f9c0d1e",`+
		`"current":{"id":"7","title":"Quarterly report","owner":"ana","tags":["finance","q3"],"version":4,"body":"`, `"}}`)},
	{"envelope", "application/json", pad1KiB(`{"status":"error","message":"Validation failed","request_id":"r-81f2","errors":[`+
		`{"field":"name","code":"too_short","message":"is too short (minimum is 3 characters)"},`+
		`{"field":"email","code":"not_unique","message":"has already been taken"},`+
		`{"field":"phone","code":"invalid","message":"is not a valid phone number"}],"meta":{"docs":"https://api.example.com/errors","note":"`, `"}}`)},
}

func pad1KiB(head, tail string) []byte {
	b := head + strings.Repeat("lorem ipsum ", 100)
	return []byte(b[:1024-len(tail)] + tail)
}

func benchResponse(contentType string, body []byte) *http.Response {
	return &http.Response{
		StatusCode:    409,
		Header:        http.Header{"Content-Type": {contentType}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// BenchmarkClassify1KiB compares Classify on a 1 KiB body with reading the
// same body and decoding it into a map[string]any, in the same run (target:
// Classify within 1.5× of the Unmarshal).
func BenchmarkClassify1KiB(b *testing.B) {
	for _, tc := range bench1KiB {
		if len(tc.body) != 1024 || !json.Valid(tc.body) {
			b.Fatalf("%s: fixture is %d bytes, valid=%v", tc.name, len(tc.body), json.Valid(tc.body))
		}
		b.Run(tc.name+"/Classify", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for i := 0; i < b.N; i++ {
				c, err := Classify(benchResponse(tc.contentType, tc.body))
				if err != nil || c == nil || c.Kind == Unknown {
					b.Fatal(c, err)
				}
			}
		})
		b.Run(tc.name+"/json.Unmarshal-map", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for i := 0; i < b.N; i++ {
				resp := benchResponse(tc.contentType, tc.body)
				body, _ := io.ReadAll(resp.Body)
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
