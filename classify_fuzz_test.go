package conflict

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// fuzzSeeds are conflict replies in every catalogued dialect.
var fuzzSeeds = []string{
	"HTTP/1.1 409 Conflict\r\nContent-Type: application/problem+json\r\n\r\n{\"type\":\"/problems/version-conflict\",\"title\":\"Version conflict\",\"status\":409,\"code\":\"version_conflict\",\"current_version\":3,\"current\":{\"a\":1}}",
	"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"the object has been modified\",\"reason\":\"Conflict\",\"details\":{\"name\":\"q\"},\"code\":409}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"error\":\"conflict\",\"reason\":\"Document update conflict.\"}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"current version [2]\"},\"status\":409}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"code\":\"23505\",\"details\":\"Key (email)=(a) already exists.\",\"hint\":null,\"message\":\"duplicate key\"}",
	"HTTP/1.1 400 Bad Request\r\n\r\n{\"error\":{\"type\":\"idempotency_error\",\"message\":\"Keys for idempotent requests\"}}",
	"HTTP/1.1 409 Conflict\r\nRetry-After: 2\r\n\r\n{\"error\":{\"code\":\"idempotency_key_in_use\",\"type\":\"invalid_request_error\"}}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"error\":{\"code\":409,\"status\":\"ABORTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"ETAG\",\"metadata\":{\"current_state\":\"x\"}}]}}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":\"conflict\"}],\"code\":409}}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"error\":{\"type\":\"invalid_state\",\"code\":409,\"errors\":[{\"reason\":\"idempotent_creation_conflict\",\"links\":{\"conflicting_resource_id\":\"SB1\"}}]}}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"statusCode\":409,\"errors\":[{\"code\":\"ConcurrentModification\",\"currentVersion\":2}]}",
	"HTTP/1.1 412 Precondition Failed\r\nx-ms-error-code: ConditionNotMet\r\nContent-Type: application/xml\r\n\r\n<?xml version=\"1.0\"?><Error><Code>ConditionNotMet</Code><Message>not met\nRequestId:1</Message></Error>",
	"HTTP/1.1 409 Conflict\r\nContent-Type: application/problem+xml\r\n\r\n<problem xmlns=\"urn:ietf:rfc:7807\"><type>x/version-conflict</type><status>409</status></problem>",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"code\":54301,\"message\":\"Unique name already exists\",\"more_info\":\"https://www.twilio.com/docs/errors/54301\"}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"message\":\"x does not match y\",\"documentation_url\":\"https://docs.github.com\"}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"statusCode\":409,\"message\":\"Current version is: 7\"}",
	"HTTP/1.1 409 Conflict\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
	"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"err\r\n0\r\n\r\n",
	"HTTP/1.1 428 Precondition Required\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 423 Locked\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
	// Shapes only the walk reads (issue 12).
	"HTTP/1.1 400 Bad Request\r\n\r\n[{\"message\":\"duplicate value found: X duplicates value on record with id: 0035\",\"errorCode\":\"DUPLICATE_VALUE\",\"fields\":[]}]",
	"HTTP/1.1 400 Bad Request\r\n\r\n{\"errors\":[{\"message\":\"has to be unique\",\"extensions\":{\"code\":\"RECORD_NOT_UNIQUE\",\"field\":\"email\"}}]}",
	"HTTP/1.1 422 Unprocessable Entity\r\n\r\n{\"error\":\"RecordInvalid\",\"details\":{\"email\":[{\"description\":\"is already being used\",\"error\":\"DuplicateValue\"}]}}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"error_summary\":\"path/conflict/file/..\",\"error\":{\".tag\":\"path\",\"path\":{\".tag\":\"conflict\"}}}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"sys\":{\"type\":\"Error\",\"id\":\"VersionMismatch\"},\"existingResourceId\":\"r1\",\"allowed_transitions\":[],\"_rev\":\"1-a\"}",
	"HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: UsernameExistsException:\r\n\r\n{\"__type\":\"com.amazonaws#UsernameExistsException\",\"message\":\"exists\"}",
	"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n400 File already exists. See https://pypi.org/help/",
	"HTTP/1.1 409 Conflict\r\n\r\n<?xml version=\"1.0\"?><d:error xmlns:d=\"DAV:\"><s:exception>Sabre\\DAV\\Exception\\Conflict</s:exception><s:message>Parent node does not exist</s:message></d:error>",
	"HTTP/1.1 412 Precondition Failed\r\n\r\n{\"errorCode\":105,\"message\":\"Already exists\",\"cause\":\"/foo\"}",
	"HTTP/1.1 409 Conflict\r\n\r\n{\"status\":\"error\",\"message\":\"Contact already exists. Existing ID: 6001\"}",
}

// FuzzClassify drives raw response bytes through http.ReadResponse into
// Classify: it must not panic, must give a defined Kind, and must leave the
// body exactly as the server sent it.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "PUT", false)
		f.Add([]byte(s), "POST", true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, method string, ifMatch bool) {
		req, err := http.NewRequest(method, "http://example.test/x?rev=1", nil)
		if err != nil {
			return
		}
		if ifMatch {
			req.Header.Set("If-Match", `"1"`)
		} else {
			req.Header.Set("If-None-Match", "*")
		}
		want, wantErr := readBody(raw, req, false)
		got, gotErr := readBody(raw, req, true)
		if (wantErr == nil) != (gotErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("body after Classify = %q, %v; want %q, %v", got, gotErr, want, wantErr)
		}
	})
}

// readBody parses raw as a response, optionally classifies it, and reads the
// body as a caller would afterwards.
func readBody(raw []byte, req *http.Request, classify bool) ([]byte, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	if classify {
		cl := Classifier{MaxBodyBytes: 64}
		for _, c := range []Classifier{{}, cl} {
			cf, _ := c.Classify(resp)
			if cf == nil {
				continue
			}
			if _, err := cf.Kind.MarshalText(); err != nil {
				panic("undefined kind " + cf.Kind.String())
			}
			if len(cf.Body) > MaxExcerpt || cf.RetryAfter < 0 {
				panic("bounds broken")
			}
			if (cf.Kind == Unknown) != (cf.Evidence == "") || cf.Heuristic != (cf.Evidence == EvidencePhrase) {
				panic("evidence " + string(cf.Evidence) + " inconsistent with " + cf.String())
			}
			_ = cf.String()
		}
	}
	return io.ReadAll(resp.Body)
}

// FuzzRetryAfter checks Retry-After parsing never panics and stays within
// bounds.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "3", "-1", "1e3", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"} {
		f.Add(s, "Wed, 21 Oct 2015 07:27:00 GMT")
	}
	f.Fuzz(func(t *testing.T, value, date string) {
		h := http.Header{"Retry-After": {value}, "Date": {date}}
		d := retryAfter(h, time.Unix(0, 0))
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q) = %v out of bounds", value, d)
		}
	})
}

// FuzzPhrases checks the free-text helpers on arbitrary text.
func FuzzPhrases(f *testing.F) {
	f.Add("Version must be incremented. Current version is: 7")
	f.Add("İİİ current version is: 9")
	f.Add("[x]: current version [")
	f.Add(`"plain"`)
	f.Add(`"esc\"aped"`)
	f.Add("\"caf\xe9\"")
	f.Add(`"`)
	f.Fuzz(func(t *testing.T, s string) {
		_ = kindOfPhrase(s)
		_ = versionInText(s)
		_ = bracketAfter(s, "current version [")
		_ = parenAfter(s, "Key (")
		if got := asciiLower(s); len(got) != len(s) || !strings.EqualFold(got, s) && got == s {
			t.Fatalf("asciiLower changed length")
		}
		_ = kindOfReason(s, nil)
		_ = idInText(s)
		_ = fieldName(&jsonv.Value{Kind: jsonv.String, Raw: []byte(strconv.Quote(s))})
		// jsonString on the parsed tree agrees with encoding/json.
		raw := []byte(s)
		var want string
		if json.Unmarshal(raw, &want) == nil && len(raw) > 0 && raw[0] == '"' {
			v, err := jsonv.Parse(raw)
			if err != nil || jsonString(&v) != want {
				t.Fatalf("jsonString(%q) = %q, %v; want %q", raw, jsonString(&v), err, want)
			}
		}
	})
}
