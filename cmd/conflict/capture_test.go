package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-conflict/conflict"
)

// parsed is what a test checks of a parsed capture.
type parsed struct {
	status        int
	body          string
	method, url   string // of the request, "" when there is none
	reqBody       string
	header, value string // one response header to check
}

func parseString(t *testing.T, capture string) parsed {
	t.Helper()
	resp, err := parseCapture([]byte(capture))
	if err != nil {
		t.Fatalf("parseCapture: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("ContentLength %d, body %d bytes", resp.ContentLength, len(body))
	}
	p := parsed{status: resp.StatusCode, body: string(body)}
	if req := resp.Request; req != nil {
		p.method, p.url = req.Method, req.URL.String()
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		p.reqBody = string(b)
	}
	return p
}

func TestParseCapture(t *testing.T) {
	tests := []struct {
		name    string
		capture string
		want    parsed
	}{
		{
			name:    "response only",
			capture: "HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}",
			want:    parsed{status: 409, body: "{}"},
		},
		{
			name:    "LF only, no Content-Length",
			capture: "HTTP/1.1 409 Conflict\nContent-Type: application/json\n\n{\"a\":\n1}\n",
			want:    parsed{status: 409, body: "{\"a\":\n1}\n"},
		},
		{
			name:    "Content-Length too long for an LF-only body",
			capture: "HTTP/1.1 409 Conflict\nContent-Length: 12\n\n{\n\"a\":1\n}\n",
			want:    parsed{status: 409, body: "{\n\"a\":1\n}\n"},
		},
		{
			name:    "whitespace past Content-Length dropped",
			capture: "HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}\r\n\r\n",
			want:    parsed{status: 409, body: "{}"},
		},
		{
			name:    "text past Content-Length kept",
			capture: "HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}xyz",
			want:    parsed{status: 409, body: "{}xyz"},
		},
		{
			name:    "no blank line after the headers",
			capture: "HTTP/1.1 423 Locked\r\nRetry-After: 1",
			want:    parsed{status: 423},
		},
		{
			name:    "leading blank lines, HTTP/2 without a reason phrase",
			capture: "\n\r\nHTTP/2 412 \r\netag: \"2\"\r\n\r\n",
			want:    parsed{status: 412},
		},
		{
			name:    "HTTP/3",
			capture: "HTTP/3 409\n\n{}",
			want:    parsed{status: 409, body: "{}"},
		},
		{
			name:    "chunked on the wire",
			capture: "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
			want:    parsed{status: 409, body: "{}"},
		},
		{
			name:    "chunked header, body shown decoded",
			capture: "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n{\"error\":\"conflict\"}",
			want:    parsed{status: 409, body: `{"error":"conflict"}`},
		},
		{
			name:    "100 Continue first",
			capture: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}",
			want:    parsed{status: 409, body: "{}"},
		},
		{
			name:    "redirect with a body, then the reply",
			capture: "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 5\r\n\r\nmovedHTTP/1.1 409 Conflict\r\n\r\n{}",
			want:    parsed{status: 409, body: "{}"},
		},
		{
			name:    "request with a body, then the reply",
			capture: "PUT /docs/1?rev=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n{\"a\":1}\r\nHTTP/1.1 409 Conflict\r\n\r\n{}",
			want:    parsed{status: 409, body: "{}", method: "PUT", url: "/docs/1?rev=2", reqBody: `{"a":1}`},
		},
		{
			name:    "request body without Content-Length, LF only",
			capture: "POST /orders HTTP/1.1\nHost: h\n\n{\"sku\":\n\"A\"}\n\nHTTP/1.1 409 Conflict\n\n{}",
			want:    parsed{status: 409, body: "{}", method: "POST", url: "/orders", reqBody: "{\"sku\":\n\"A\"}"},
		},
		{
			name:    "request, redirect, request, reply: the last request",
			capture: "POST /a HTTP/1.1\r\nHost: h\r\n\r\nHTTP/1.1 307 Temporary Redirect\r\nLocation: /b\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\n\r\nHTTP/1.1 409 Conflict\r\n\r\n{}",
			want:    parsed{status: 409, body: "{}", method: "POST", url: "/b"},
		},
		{
			name:    "absolute-form request target",
			capture: "DELETE http://h.example/x/1 HTTP/1.1\r\n\r\nHTTP/1.1 412 Precondition Failed\r\n\r\n",
			want:    parsed{status: 412, method: "DELETE", url: "http://h.example/x/1"},
		},
		{
			name: "curl -v, body before curl's last note",
			capture: "* Trying 127.0.0.1:80...\n> POST /v1/items HTTP/1.1\n> Host: h\n> Content-Length: 2\n>\n" +
				"< HTTP/1.1 409 Conflict\n< Content-Type: application/json\n<\n{\"error\":\"duplicate\"}\n* Connection #0 left intact\n",
			want: parsed{status: 409, body: "{\"error\":\"duplicate\"}\n", method: "POST", url: "/v1/items"},
		},
		{
			name: "curl -v -L: the last request and response",
			capture: "> PUT /a HTTP/1.1\r\n> Host: h\r\n> \r\n< HTTP/1.1 301 Moved Permanently\r\n< Location: /b\r\n< \r\n" +
				"* Issue another request to this URL: 'http://h/b'\r\n> PUT /b HTTP/1.1\r\n> Host: h\r\n> \r\n" +
				"< HTTP/1.1 423 Locked\r\n< \r\n",
			want: parsed{status: 423, method: "PUT", url: "/b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseString(t, tc.capture)
			got.header, got.value = tc.want.header, tc.want.value
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseCaptureErrors(t *testing.T) {
	tests := []struct{ capture, err string }{ // err: the message or its start
		{"", "no HTTP response in the input"},
		{"\r\n\n", "no HTTP response in the input"},
		{"HTTP/1.1 4O9 Conflict\r\n\r\n", `line 1: malformed HTTP status code "4O9"`},
		{"HTTP/x 409 Conflict\r\n\r\n", `line 1: malformed HTTP version "HTTP/x"`},
		{"HTTX/1.1 409 Conflict\r\n\r\n", `line 1: neither a status line nor a request line: "HTTX/1.1 409 Conflict"`},
		{"PUT /x HTTP/1.1\r\nHost: h\r\n\r\n{}\r\n", "no HTTP response in the input"},
		{"\nPUT /x HTTP/1.1\nHost: h\n\nHTTP/1.1 409 Conflict\nbad header\n", "line 5: malformed MIME header"}, // the rest varies with the Go version
		{"< HTTP/1.1 40 Conflict\n<\n", `curl -v output: malformed HTTP status code "40"`},
	}
	for _, tc := range tests {
		resp, err := parseCapture([]byte(tc.capture))
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) || resp != nil {
			t.Errorf("parseCapture(%q) = %v, %v; want error %q", tc.capture, resp, err, tc.err)
		}
	}
}

// TestLineEndings checks that a capture parses the same with CRLF and LF
// line endings.
func TestLineEndings(t *testing.T) {
	for _, name := range []string{"couchdb-stale.http", "kubernetes-alreadyexists.http", "stripe-idempotency-in-use.http", "invalid-transition.http"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		crlf := parseString(t, string(data))
		lf := parseString(t, strings.ReplaceAll(string(data), "\r\n", "\n"))
		crlf.body = strings.ReplaceAll(crlf.body, "\r\n", "\n")
		if crlf != lf {
			t.Errorf("%s: CRLF %+v\nLF   %+v", name, crlf, lf)
		}
	}
}

// FuzzParseCapture feeds arbitrary bytes to the capture parser: it must not
// panic, and a response it returns has a readable body whose length is its
// ContentLength; classifying it must not fail.
func FuzzParseCapture(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"HTTP/1.1 409 Conflict\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
		"HTTP/1.1 409 Conflict\r\nContent-Length: 3\r\n\r\n{}\nGET / HTTP/1.1\n\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 412 x\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 412 x\r\n\r\n",
		"> GET / HTTP/2\n>\n< HTTP/2 409\n<\n* x\n{}",
		"<\n< HTTP/\n>\n>",
		"HTTP/2",
		"\r100 2 100 2 0 0 1 0 --:--:-- 0:00:01 --:--:-- 1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := parseCapture(data)
		if err != nil {
			if resp != nil {
				t.Fatalf("response %v with error %v", resp, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error message on several lines: %q", err)
			}
			return
		}
		if resp == nil || resp.Body == nil {
			t.Fatalf("nil response or body without an error: %v", resp)
		}
		if req := resp.Request; req != nil && (req.Body == nil || req.URL == nil) {
			t.Fatalf("request without a body or URL: %v", req)
		}
		cf, err := conflict.Classify(resp)
		if err != nil {
			t.Fatalf("Classify: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || int64(len(body)) != resp.ContentLength {
			t.Fatalf("body %d bytes, %v; ContentLength %d", len(body), err, resp.ContentLength)
		}
		newReport(resp, cf).writeText(io.Discard)
	})
}
