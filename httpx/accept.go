package httpx

import (
	"slices"
	"strings"
)

// Bounds of [ParseAccept], so a hostile header costs little: ranges past
// maxAcceptRanges and parameters past maxAcceptParams are ignored.
const (
	maxAcceptRanges = 64
	maxAcceptParams = 16
)

// MediaRange is one entry of an Accept header.
type MediaRange struct {
	Type    string            // lower case; "*" for a wildcard
	Subtype string            // lower case; "*" for a wildcard
	Params  map[string]string // parameters before q, names lower case; nil if none
	Q       float64           // weight in (0, 1]
}

// String formats the range without its weight: "text/html;level=1".
func (m MediaRange) String() string {
	var sb strings.Builder
	sb.WriteString(m.Type)
	sb.WriteByte('/')
	sb.WriteString(m.Subtype)
	keys := make([]string, 0, len(m.Params))
	for k := range m.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sb.WriteByte(';')
		sb.WriteString(k)
		sb.WriteByte('=')
		v := m.Params[k]
		if v != "" && isToken(v) {
			sb.WriteString(v)
		} else {
			sb.WriteByte('"')
			for i := 0; i < len(v); i++ {
				if v[i] == '"' || v[i] == '\\' {
					sb.WriteByte('\\')
				}
				sb.WriteByte(v[i])
			}
			sb.WriteByte('"')
		}
	}
	return sb.String()
}

// Matches reports whether mediaType ("application/json", parameters
// allowed) falls in the range: wildcards match anything, and every
// parameter of the range must be present in mediaType with the same value
// (compared case-insensitively).
func (m MediaRange) Matches(mediaType string) bool {
	o, ok := parseOffer(mediaType)
	return ok && m.matches(o)
}

func (m MediaRange) matches(o MediaRange) bool {
	if m.Type != "*" && m.Type != o.Type {
		return false
	}
	if m.Subtype != "*" && m.Subtype != o.Subtype {
		return false
	}
	for k, v := range m.Params {
		if ov, ok := o.Params[k]; !ok || !strings.EqualFold(ov, v) {
			return false
		}
	}
	return true
}

// specificity orders ranges for the same weight: */* < type/* < type/sub <
// type/sub with parameters.
func (m MediaRange) specificity() int {
	switch {
	case m.Type == "*":
		return 0
	case m.Subtype == "*":
		return 1
	}
	return 2 + len(m.Params)
}

// ParseAccept parses an Accept header (RFC 9110, section 12.5.1) into its
// media ranges, most preferred first: by weight, then by specificity
// (text/html before text/* before */*), then in header order.
//
// Types, subtypes and parameter names are lower-cased. Ranges with q=0
// ("not acceptable") are left out; use [Negotiate] to honour them. Malformed
// entries (no slash, "*/json", a bad q value) are skipped; a bare "*" is read
// as "*/*". An empty or entirely malformed header gives nil, which callers
// should treat as "*/*". At most 64 ranges are read.
func ParseAccept(header string) []MediaRange {
	all := parseAccept(header)
	out := all[:0]
	for _, r := range all {
		if r.Q > 0 {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortStableFunc(out, func(a, b MediaRange) int {
		if a.Q != b.Q {
			if a.Q > b.Q {
				return -1
			}
			return 1
		}
		return b.specificity() - a.specificity()
	})
	return out
}

// Negotiate picks the offer the client prefers. offers are the media types
// the server can produce, in the server's order of preference. Each offer
// gets the weight of the most specific range that matches it, so
// "*/*, text/html;q=0" excludes HTML; among the offers with the highest
// weight above 0, the first wins. An empty or entirely malformed header
// accepts anything (the first offer). It returns "", false if no offer is
// acceptable (the caller answers 406 Not Acceptable or picks a default).
func Negotiate(header string, offers ...string) (string, bool) {
	ranges := parseAccept(header)
	if len(ranges) == 0 {
		if len(offers) == 0 {
			return "", false
		}
		return offers[0], true
	}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		o, ok := parseOffer(offer)
		if !ok {
			continue
		}
		q, spec := 0.0, -1
		for _, r := range ranges {
			if s := r.specificity(); s > spec && r.matches(o) {
				q, spec = r.Q, s
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best, bestQ > 0
}

func parseOffer(s string) (MediaRange, bool) {
	rs := parseAccept(s)
	if len(rs) != 1 || rs[0].Type == "*" || rs[0].Subtype == "*" {
		return MediaRange{}, false
	}
	return rs[0], true
}

// parseAccept returns every well-formed range, q=0 included, in order.
func parseAccept(h string) []MediaRange {
	var out []MediaRange
	p := acceptParser{s: h}
	for !p.eof() && len(out) < maxAcceptRanges {
		p.skipOWS()
		if p.eof() {
			break
		}
		if p.peek() == ',' {
			p.i++
			continue
		}
		r, ok := p.mediaRange()
		p.skipOWS()
		if ok && !p.eof() && p.peek() != ',' {
			ok = false
		}
		if !ok {
			p.skipElement()
			continue
		}
		out = append(out, r)
	}
	return out
}

type acceptParser struct {
	s string
	i int
}

func (p *acceptParser) eof() bool  { return p.i >= len(p.s) }
func (p *acceptParser) peek() byte { return p.s[p.i] }

func (p *acceptParser) skipOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// skipElement moves past the rest of a malformed element, to the next comma
// that is not inside a quoted string.
func (p *acceptParser) skipElement() {
	inQuote := false
	for ; !p.eof(); p.i++ {
		c := p.s[p.i]
		switch {
		case inQuote && c == '\\':
			p.i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return
		}
	}
}

func (p *acceptParser) token() string {
	start := p.i
	for !p.eof() && isTChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *acceptParser) mediaRange() (MediaRange, bool) {
	r := MediaRange{Q: 1}
	r.Type = strings.ToLower(p.token())
	if r.Type == "" {
		return r, false
	}
	if p.eof() || p.peek() != '/' {
		if r.Type != "*" {
			return r, false
		}
		r.Subtype = "*" // a bare "*", sent by some old clients
	} else {
		p.i++
		r.Subtype = strings.ToLower(p.token())
		if r.Subtype == "" || (r.Type == "*" && r.Subtype != "*") {
			return r, false
		}
	}
	for nparams := 0; ; nparams++ {
		p.skipOWS()
		if p.eof() || p.peek() != ';' {
			return r, true
		}
		p.i++
		p.skipOWS()
		if p.eof() || p.peek() == ',' || p.peek() == ';' {
			continue // an empty parameter is allowed
		}
		name := strings.ToLower(p.token())
		if name == "" || p.eof() || p.peek() != '=' {
			return r, false
		}
		p.i++
		val, ok := p.value()
		if !ok {
			return r, false
		}
		if name == "q" {
			q, ok := parseQ(val)
			if !ok {
				return r, false
			}
			r.Q = q
			return r, p.skipExtensions()
		}
		if nparams < maxAcceptParams {
			if r.Params == nil {
				r.Params = make(map[string]string)
			}
			r.Params[name] = val
		}
	}
}

// skipExtensions checks the accept-ext parameters after q, which carry no
// meaning for matching.
func (p *acceptParser) skipExtensions() bool {
	for {
		p.skipOWS()
		if p.eof() || p.peek() != ';' {
			return true
		}
		p.i++
		p.skipOWS()
		if p.eof() || p.peek() == ',' || p.peek() == ';' {
			continue
		}
		if p.token() == "" {
			return false
		}
		if !p.eof() && p.peek() == '=' {
			p.i++
			if _, ok := p.value(); !ok {
				return false
			}
		}
	}
}

// value reads a token or a quoted-string and returns it unquoted.
func (p *acceptParser) value() (string, bool) {
	if p.eof() {
		return "", false
	}
	if p.peek() != '"' {
		t := p.token()
		return t, t != ""
	}
	p.i++
	var sb strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return sb.String(), true
		case c == '\\':
			// quoted-pair: the escaped byte is HTAB, SP, VCHAR or
			// obs-text (RFC 9110 5.6.4), like unescaped text.
			if p.eof() || !qdtext(p.s[p.i]) {
				return "", false
			}
			sb.WriteByte(p.s[p.i])
			p.i++
		case qdtext(c):
			sb.WriteByte(c)
		default:
			return "", false
		}
	}
	return "", false // unterminated
}

// qdtext reports whether c may stand in a quoted string: HTAB, SP, VCHAR
// or obs-text, never another control byte.
func qdtext(c byte) bool { return c == '\t' || (c >= 0x20 && c != 0x7f) }

// parseQ parses an RFC 9110 qvalue: "0" to "1" with at most three decimals.
func parseQ(s string) (float64, bool) {
	if len(s) == 0 || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	if len(s) == 1 {
		return float64(s[0] - '0'), true
	}
	if s[1] != '.' {
		return 0, false
	}
	frac := 0
	scale := 1000
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		scale /= 10
		frac += int(c-'0') * scale
	}
	if s[0] == '1' {
		return 1, frac == 0
	}
	return float64(frac) / 1000, true
}

func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTChar(s[i]) {
			return false
		}
	}
	return s != ""
}
