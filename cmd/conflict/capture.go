package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strings"
)

// A capture is a saved HTTP exchange: raw HTTP/1.x messages (curl -i output,
// a proxy's dump, a hand-written reply) or curl -v output, where request
// lines start with "> ", response header lines with "< " and curl's own
// notes with "* ".
//
// parseCapture returns the capture's last response, its body set to what
// the capture holds, and its Request set to the request that preceded it,
// if the capture has one. Earlier responses (a 100 Continue, a redirect
// that curl -L followed) are skipped.
//
// It is lenient where saved captures differ from the wire: lines may end in
// LF or CRLF; "HTTP/2" and "HTTP/3" versions are accepted; the last
// response's body is the rest of the input, whatever its Content-Length
// says, and a "chunked" body is decoded only when it is still in chunks
// (curl shows it decoded but keeps the header).
func parseCapture(data []byte) (*http.Response, error) {
	verbose := curlVerbose.Match(data)
	if verbose {
		data = unverbose(data)
	}
	p := capParser{data: data, verbose: verbose}
	return p.parse()
}

var (
	// curlVerbose matches a curl -v response line.
	curlVerbose = regexp.MustCompile(`(?m)^< HTTP/`)
	// requestLine matches a request line: method, target, version.
	requestLine = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]* [^ ]+ HTTP/[0-9.]+\r?$`)
	// progress matches a line of curl's progress meter, which curl writes
	// to stderr next to the -v output: its two heading lines and its rows
	// ("100    87  100    87    0     0   1200      0 --:--:-- ...").
	progress = regexp.MustCompile(`^\s*(% Total|Dload)|^[\s\d.kMGTP:-]*--:--:--|^(\s*\d+[.\dkMGTP]*){7}\s+\d+:\d+:\d+`)
)

// unverbose turns curl -v output into raw messages: "> " and "< " lines lose
// their prefix, curl's notes ("* ", "{ [n bytes data]") are dropped, a blank
// line ends each header block, and every other line is body.
func unverbose(data []byte) []byte {
	var out bytes.Buffer
	block := byte(0) // '>' or '<' while in a header block
	blank := true    // the last line written was blank
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		text := strings.TrimRight(string(line), "\r\n")
		c := byte(0)
		if text != "" {
			c = text[0]
		}
		switch {
		case (c == '>' || c == '<') && (len(text) == 1 || text[1] == ' '):
			if block != c && !blank {
				out.WriteString("\n") // a header block starts after a blank line
			}
			block = c
			text = strings.TrimPrefix(text[1:], " ")
			out.WriteString(text + "\n")
			blank = text == ""
			continue
		case c == '*' && (len(text) == 1 || text[1] == ' '),
			strings.HasPrefix(text, "{ ["), strings.HasPrefix(text, "} ["),
			isProgress(text):
			continue // curl's notes and progress meter
		}
		if block != 0 && !blank {
			out.WriteString("\n") // end the header block before its body
		}
		block = 0
		out.Write(line)
		blank = text == ""
	}
	return out.Bytes()
}

// isProgress reports whether text holds only rows of curl's progress
// meter, which redraws itself after carriage returns.
func isProgress(text string) bool {
	seen := false
	for _, row := range strings.Split(text, "\r") {
		if strings.TrimSpace(row) == "" {
			continue
		}
		if !progress.MatchString(row) {
			return false
		}
		seen = true
	}
	return seen
}

// capParser reads the messages of a capture in order.
type capParser struct {
	data    []byte
	verbose bool
}

func (p *capParser) parse() (*http.Response, error) {
	var req *http.Request
	var resp *http.Response
	pos := skipBlank(p.data, 0)
	for pos < len(p.data) {
		line := lineAt(p.data, pos)
		var err error
		switch {
		case strings.HasPrefix(line, "HTTP/"):
			resp, pos, err = p.response(pos, req)
		case requestLine.MatchString(line):
			req, pos, err = p.request(pos)
		default:
			err = fmt.Errorf("%s: neither a status line nor a request line: %q", p.where(pos), clip(line))
		}
		if err != nil {
			return nil, err
		}
		pos = skipBlank(p.data, pos)
	}
	if resp == nil {
		return nil, errors.New("no HTTP response in the input")
	}
	return resp, nil
}

// response parses the response at pos. Its body runs to the next message,
// if one follows, or to the end of the input.
func (p *capParser) response(pos int, req *http.Request) (*http.Response, int, error) {
	hdr, end := headerBlock(p.data, pos)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(fixVersion(hdr, true))), req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", p.where(pos), err)
	}
	rest := p.data[end:]
	var body []byte
	next := len(p.data)
	switch cl := resp.ContentLength; {
	case p.messageAt(end):
		next = end // no body shown (a 1xx, a redirect that curl followed)
	case cl > 0 && cl <= int64(len(rest)) && p.messageAt(end+int(cl)):
		body, next = rest[:cl], end+int(cl)
	default:
		body = finalBody(rest, resp)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	return resp, next, nil
}

// finalBody is the body of the last response: the rest of the input, less
// trailing whitespace past its Content-Length, dechunked if still chunked.
func finalBody(rest []byte, resp *http.Response) []byte {
	if len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked" {
		if b, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(rest))); err == nil {
			return b
		}
		return rest // already decoded by whoever saved it
	}
	cl := resp.ContentLength
	if cl < 0 {
		cl = 0
	}
	if cl <= int64(len(rest)) && len(bytes.TrimSpace(rest[cl:])) == 0 {
		return rest[:cl]
	}
	return rest
}

// request parses the request at pos. Its body runs to its Content-Length,
// when a response follows there, or else to the next status line.
func (p *capParser) request(pos int) (*http.Request, int, error) {
	hdr, end := headerBlock(p.data, pos)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(fixVersion(hdr, false))))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", p.where(pos), err)
	}
	next := end
	if cl := req.ContentLength; cl > 0 && cl <= int64(len(p.data)-end) && p.messageAt(end+int(cl)) {
		next = end + int(cl)
	} else {
		next = nextStatusLine(p.data, end)
	}
	body := bytes.TrimRight(p.data[end:next], "\r\n")
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.TransferEncoding = nil
	return req, next, nil
}

// messageAt reports whether a message starts at pos, after blank lines.
func (p *capParser) messageAt(pos int) bool {
	pos = skipBlank(p.data, pos)
	if pos >= len(p.data) {
		return false
	}
	line := lineAt(p.data, pos)
	return strings.HasPrefix(line, "HTTP/") || requestLine.MatchString(line)
}

// where names the position for an error message.
func (p *capParser) where(pos int) string {
	if p.verbose {
		return "curl -v output" // line numbers would count the rewritten text
	}
	return fmt.Sprintf("line %d", bytes.Count(p.data[:pos], []byte("\n"))+1)
}

// headerBlock returns the header block starting at pos, from its first line
// to the blank line that ends it, terminated the way textproto expects, and
// the position just after it. A block that runs to the end of the input is
// ended there.
func headerBlock(data []byte, pos int) (hdr []byte, end int) {
	i := pos
	for i < len(data) {
		line := lineAt(data, i)
		n := lineLen(data, i)
		if strings.TrimRight(line, "\r") == "" {
			hdr = append([]byte(nil), data[pos:i]...)
			return append(hdr, "\r\n"...), i + n
		}
		i += n
	}
	hdr = append([]byte(nil), data[pos:]...)
	if !bytes.HasSuffix(hdr, []byte("\n")) {
		hdr = append(hdr, "\r\n"...)
	}
	return append(hdr, "\r\n"...), len(data)
}

// fixVersion rewrites a first line's "HTTP/2" or "HTTP/3", which
// net/http's parsers reject, as "HTTP/2.0" or "HTTP/3.0".
func fixVersion(hdr []byte, response bool) []byte {
	line, rest, _ := bytes.Cut(hdr, []byte("\n"))
	s := strings.TrimRight(string(line), "\r")
	for _, v := range []string{"HTTP/2", "HTTP/3"} {
		switch {
		case response && (s == v || strings.HasPrefix(s, v+" ")):
			s = v + ".0" + s[len(v):]
		case !response && strings.HasSuffix(s, " "+v):
			s += ".0"
		}
	}
	out := append([]byte(s), "\r\n"...)
	return append(out, rest...)
}

// lineAt returns the line starting at pos, without its line ending.
func lineAt(data []byte, pos int) string {
	line := data[pos:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return strings.TrimSuffix(string(line), "\r")
}

// lineLen is the length of the line at pos, with its line ending.
func lineLen(data []byte, pos int) int {
	if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
		return i + 1
	}
	return len(data) - pos
}

// skipBlank skips blank lines (and whitespace-only lines) from pos.
func skipBlank(data []byte, pos int) int {
	for pos < len(data) {
		n := lineLen(data, pos)
		if len(bytes.TrimSpace(data[pos:pos+n])) != 0 {
			break
		}
		pos += n
	}
	return pos
}

// nextStatusLine returns the start of the first line from pos that begins
// with "HTTP/", or the end of the input.
func nextStatusLine(data []byte, pos int) int {
	for pos < len(data) {
		if strings.HasPrefix(lineAt(data, pos), "HTTP/") {
			return pos
		}
		pos += lineLen(data, pos)
	}
	return pos
}

// clip shortens a line quoted in an error message.
func clip(s string) string {
	const limit = 60
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
