package jsonv

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

type parser struct {
	data  []byte
	s     string // data seen as a string (not copied): unescaped keys share its memory
	pos   int
	depth int
	ws    int // number of whitespace runs skipped between tokens
	dups  int // number of duplicate keys removed
	stack []Member
	slab  []Member // storage for the members of finished containers
	seen  map[string]int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: int64(p.pos), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected(context string) error {
	if p.pos >= len(p.data) {
		return p.errorf("unexpected end of JSON input")
	}
	return p.errorf("invalid character %s %s", quoteChar(p.data[p.pos]), context)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		s = fmt.Sprintf(`"\x%02x"`, c)
	}
	return "'" + s[1:len(s)-1] + "'"
}

func (p *parser) skipWS() {
	start := p.pos
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			continue
		}
		break
	}
	if p.pos != start {
		p.ws++
	}
}

// value parses the value starting at p.pos (whitespace already skipped).
// Values are returned, not filled in through a pointer, so that they stay
// off the heap until they are stored in their parent.
func (p *parser) value() (Value, error) {
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end of JSON input")
	}
	start := p.pos
	var err error
	var kind Kind
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		_, err = p.str()
		kind = String
	case c == 't':
		err = p.literal("true")
		kind = True
	case c == 'f':
		err = p.literal("false")
		kind = False
	case c == 'n':
		err = p.literal("null")
		kind = Null
	case c == '-' || (c >= '0' && c <= '9'):
		err = p.number()
		kind = Number
	default:
		err = p.unexpected("looking for beginning of value")
	}
	if err != nil {
		return Value{}, err
	}
	return Value{Raw: p.data[start:p.pos], Kind: kind, Compact: true}, nil
}

func (p *parser) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != lit[i] {
			return p.unexpected("in literal " + lit + " (expecting '" + lit[i:i+1] + "')")
		}
		p.pos++
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) number() error {
	d := p.data
	if d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	default:
		return p.unexpected("in numeric literal")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return p.unexpected("after decimal point in numeric literal")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return p.unexpected("in exponent of numeric literal")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	return nil
}

// str scans a string literal starting at the opening quote and reports
// whether its contents differ from its unquoted value: it contains escapes
// or bytes outside ASCII (which may be invalid UTF-8).
func (p *parser) str() (special bool, err error) {
	d := p.data
	p.pos++ // opening quote
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return special, nil
		case c >= utf8.RuneSelf:
			special = true
			p.pos++
		case c == '\\':
			special = true
			p.pos++
			if p.pos >= len(d) {
				return false, p.errorf("unexpected end of JSON input")
			}
			switch d[p.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos++
			case 'u':
				p.pos++
				for i := 0; i < 4; i++ {
					if p.pos >= len(d) || !isHex(d[p.pos]) {
						return false, p.unexpected("in \\u hexadecimal character escape")
					}
					p.pos++
				}
			default:
				return false, p.unexpected("in string escape code")
			}
		case c < 0x20:
			return false, p.unexpected("in string literal")
		default:
			p.pos++
		}
	}
	return false, p.errorf("unexpected end of JSON input")
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf("exceeded max depth of %d", MaxDepth)
	}
	return nil
}

func (p *parser) object() (Value, error) {
	if err := p.enter(); err != nil {
		return Value{}, err
	}
	start, ws0, dups0, base := p.pos, p.ws, p.dups, len(p.stack)
	p.pos++ // '{'
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
	} else {
		for {
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return Value{}, p.unexpected("looking for beginning of object key string")
			}
			ks := p.pos
			special, err := p.str()
			if err != nil {
				return Value{}, err
			}
			keyRaw := p.data[ks:p.pos]
			var key string
			if special && (bytes.IndexByte(keyRaw, '\\') >= 0 || !utf8.Valid(keyRaw)) {
				key = Unquote(keyRaw)
			} else {
				key = p.s[ks+1 : p.pos-1]
			}
			p.skipWS()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return Value{}, p.unexpected("after object key")
			}
			p.pos++
			p.skipWS()
			val, err := p.value()
			if err != nil {
				return Value{}, err
			}
			p.stack = append(p.stack, Member{Key: key, KeyRaw: keyRaw, Value: val})
			p.skipWS()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				p.skipWS()
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				break
			}
			return Value{}, p.unexpected("after object key:value pair")
		}
	}
	kids := p.dedupe(p.take(base))
	p.depth--
	return Value{Raw: p.data[start:p.pos], Kids: kids, Kind: Object, Compact: p.ws == ws0 && p.dups == dups0}, nil
}

func (p *parser) array() (Value, error) {
	if err := p.enter(); err != nil {
		return Value{}, err
	}
	start, ws0, dups0, base := p.pos, p.ws, p.dups, len(p.stack)
	p.pos++ // '['
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			val, err := p.value()
			if err != nil {
				return Value{}, err
			}
			p.stack = append(p.stack, Member{Value: val})
			p.skipWS()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				p.skipWS()
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == ']' {
				p.pos++
				break
			}
			return Value{}, p.unexpected("after array element")
		}
	}
	kids := p.take(base)
	p.depth--
	return Value{Raw: p.data[start:p.pos], Kids: kids, Kind: Array, Compact: p.ws == ws0 && p.dups == dups0}, nil
}

// take moves the members pushed since base into an exactly sized slice cut
// from a larger slab, so that a document costs a few allocations rather than
// one per container.
func (p *parser) take(base int) []Member {
	n := len(p.stack) - base
	if n == 0 {
		return nil
	}
	if cap(p.slab)-len(p.slab) < n {
		// Every member but the first of a container follows a comma, so
		// this bound makes one slab enough.
		if cap(p.slab) == 0 {
			p.slab = make([]Member, 0, max(n, countMembers(p.data)))
		} else {
			p.slab = make([]Member, 0, max(n, 64))
		}
	}
	i := len(p.slab)
	p.slab = p.slab[:i+n]
	kids := p.slab[i : i+n : i+n]
	copy(kids, p.stack[base:])
	clear(p.stack[base:]) // drop references for the garbage collector
	p.stack = p.stack[:base]
	return kids
}

// countMembers bounds the number of members and elements in data: the
// commas and opening brackets outside strings.
func countMembers(data []byte) int {
	n := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ',', '[', '{':
			n++
		case '"':
			// Skip the string: to the next quote not escaped.
			for i++; i < len(data); i++ {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					return n
				}
				i += j
				bs := 0
				for k := i - 1; k >= 0 && data[k] == '\\'; k-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
			}
		}
	}
	return n
}

// dedupe removes duplicate keys: the last value wins, at the position of
// the first occurrence (as JavaScript's JSON.parse orders them).
func (p *parser) dedupe(kids []Member) []Member {
	n := len(kids)
	if n < 2 {
		return kids
	}
	dup := false
	if n <= 16 {
	small:
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if kids[i].Key == kids[j].Key {
					dup = true
					break small
				}
			}
		}
	} else {
		if p.seen == nil {
			p.seen = make(map[string]int, n)
		} else {
			clear(p.seen)
		}
		for i := range kids {
			if _, ok := p.seen[kids[i].Key]; ok {
				dup = true
				break
			}
			p.seen[kids[i].Key] = i
		}
	}
	if !dup {
		return kids
	}
	first := make(map[string]int, n)
	out := kids[:0]
	for _, m := range kids {
		if i, ok := first[m.Key]; ok {
			out[i].Value = m.Value
			p.dups++
			continue
		}
		first[m.Key] = len(out)
		out = append(out, m)
	}
	clear(kids[len(out):])
	return out
}
