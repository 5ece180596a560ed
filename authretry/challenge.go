package authretry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MaxWWWAuthenticateLength bounds the bytes ParseWWWAuthenticate accepts,
// summed over all field lines. Real challenges are a few hundred bytes; the
// bound keeps a hostile server from making a client parse megabytes.
const MaxWWWAuthenticateLength = 8 << 10

// Parser errors, usable with errors.Is. The error returned by
// ParseWWWAuthenticate wraps one of them and says where parsing stopped.
var (
	// ErrMalformedChallenge: the field value does not follow RFC 9110 §11.6.1.
	ErrMalformedChallenge = errors.New("authretry: malformed WWW-Authenticate")
	// ErrDuplicateParam: a challenge names the same parameter twice (RFC 9110
	// says each parameter name occurs at most once per challenge).
	ErrDuplicateParam = errors.New("authretry: duplicate WWW-Authenticate parameter")
	// ErrChallengeTooLong: the field lines exceed MaxWWWAuthenticateLength.
	ErrChallengeTooLong = errors.New("authretry: WWW-Authenticate too long")
)

// Param is one auth-param of a challenge. Name is lower-cased (parameter
// names are case-insensitive); Value is unquoted and unescaped.
type Param struct {
	Name  string
	Value string
}

// Challenge is one challenge of a WWW-Authenticate field: a scheme followed
// by either a token68 or a list of parameters (never both).
type Challenge struct {
	// Scheme as the server wrote it; compare with strings.EqualFold or Is.
	Scheme string
	// Token68 is the token68 form (for example a Negotiate blob), if used.
	Token68 string
	// Params in the order the server sent them, names lower-cased.
	Params []Param
}

// Is reports whether the challenge's scheme is scheme, ignoring case.
func (c Challenge) Is(scheme string) bool { return strings.EqualFold(c.Scheme, scheme) }

// Param returns the value of the named parameter (case-insensitive).
func (c Challenge) Param(name string) (string, bool) {
	for _, p := range c.Params {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// String formats the challenge as a WWW-Authenticate element. Values that
// are valid tokens are written bare, others quoted with '"' and '\' escaped,
// so ParseWWWAuthenticate(c.String()) yields c again.
func (c Challenge) String() string {
	var b strings.Builder
	b.WriteString(c.Scheme)
	if c.Token68 != "" {
		b.WriteByte(' ')
		b.WriteString(c.Token68)
		return b.String()
	}
	for i, p := range c.Params {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		writeValue(&b, p.Value)
	}
	return b.String()
}

// FormatWWWAuthenticate formats challenges as one WWW-Authenticate field value.
func FormatWWWAuthenticate(cs []Challenge) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

func writeValue(b *strings.Builder, v string) {
	if v != "" && isToken(v) {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

// ParseWWWAuthenticate parses WWW-Authenticate field values (pass every
// field line, as in resp.Header.Values("WWW-Authenticate")...) per RFC 9110
// §11.6.1. Field lines are combined as one comma-separated list, as RFC 9110
// §5.3 defines. It accepts several challenges per line, quoted strings with
// quoted-pairs (\" and \\), commas and '=' inside quotes, token or quoted
// values, whitespace around '=', token68, empty list elements and a bare
// scheme with no parameters. Scheme and parameter names are matched without
// regard to case; a parameter repeated within one challenge is an error
// (ErrDuplicateParam) rather than silently merged.
//
// It never panics; on error it returns nil challenges and an error wrapping
// ErrMalformedChallenge, ErrDuplicateParam or ErrChallengeTooLong.
func ParseWWWAuthenticate(fields ...string) ([]Challenge, error) {
	n := 0
	for _, f := range fields {
		n += len(f) + 2
	}
	if n > MaxWWWAuthenticateLength+2 {
		return nil, ErrChallengeTooLong
	}
	p := parser{s: strings.Join(fields, ", ")}
	cs, err := p.parse()
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// Challenges parses the WWW-Authenticate fields of h. A missing field gives
// no challenges and no error.
func Challenges(h http.Header) ([]Challenge, error) {
	v := h.Values("Www-Authenticate")
	if len(v) == 0 {
		return nil, nil
	}
	return ParseWWWAuthenticate(v...)
}

type parser struct {
	s string
	i int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformedChallenge, fmt.Sprintf(format, args...), p.i)
}

func (p *parser) ows() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) token() string {
	start := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// skipSeparators skips OWS and commas (empty list elements are allowed).
func (p *parser) skipSeparators() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *parser) parse() ([]Challenge, error) {
	var out []Challenge
	p.skipSeparators()
	for p.i < len(p.s) {
		c, err := p.challenge()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		p.skipSeparators()
	}
	return out, nil
}

// challenge parses one challenge starting at a scheme token and stops at the
// comma (or end) that ends it.
func (p *parser) challenge() (Challenge, error) {
	var c Challenge
	c.Scheme = p.token()
	if c.Scheme == "" {
		return c, p.errorf("expected auth-scheme")
	}
	if p.i == len(p.s) || p.s[p.i] == ',' {
		return c, nil // bare scheme
	}
	if p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		return c, p.errorf("unexpected %q after auth-scheme", p.s[p.i])
	}
	p.ows()
	if p.i == len(p.s) || p.s[p.i] == ',' {
		return c, nil
	}
	// token68 or the first auth-param.
	save := p.i
	if prm, ok, err := p.param(); err != nil {
		return c, err
	} else if !ok {
		p.i = save
		t := p.token68()
		if t == "" {
			return c, p.errorf("expected token68 or auth-param")
		}
		p.ows()
		if p.i < len(p.s) && p.s[p.i] != ',' {
			return c, p.errorf("unexpected %q after token68", p.s[p.i])
		}
		c.Token68 = t
		// A parameter after a token68 would have no challenge to belong to;
		// the next element must be a new challenge.
		if err := p.expectChallengeNext(); err != nil {
			return c, err
		}
		return c, nil
	} else {
		c.Params = append(c.Params, prm)
	}
	for {
		p.ows()
		if p.i == len(p.s) {
			return c, nil
		}
		if p.s[p.i] != ',' {
			return c, p.errorf("expected ',' after auth-param")
		}
		// Look past the commas: another auth-param of this challenge, or
		// the start of the next challenge?
		save := p.i
		p.skipSeparators()
		if p.i == len(p.s) {
			return c, nil
		}
		prm, ok, err := p.param()
		if err != nil {
			return c, err
		}
		if !ok {
			p.i = save
			return c, nil
		}
		for _, q := range c.Params {
			if q.Name == prm.Name {
				return c, fmt.Errorf("%w: %q in %s challenge", ErrDuplicateParam, prm.Name, c.Scheme)
			}
		}
		c.Params = append(c.Params, prm)
	}
}

// expectChallengeNext checks that the next non-empty list element (if any)
// starts a challenge rather than an auth-param.
func (p *parser) expectChallengeNext() error {
	save := p.i
	p.skipSeparators()
	defer func() { p.i = save }()
	if p.i == len(p.s) {
		return nil
	}
	if _, ok, _ := p.param(); ok {
		return p.errorf("auth-param after token68")
	}
	return nil
}

// param tries to parse `token BWS "=" BWS ( token / quoted-string )`. It
// returns ok=false (and leaves the position undefined) when the input is not
// an auth-param, and an error only when it clearly is one but is malformed
// (an unterminated quoted string, say).
func (p *parser) param() (Param, bool, error) {
	name := p.token()
	if name == "" {
		return Param{}, false, nil
	}
	p.ows()
	if p.i == len(p.s) || p.s[p.i] != '=' {
		return Param{}, false, nil
	}
	p.i++
	p.ows()
	if p.i == len(p.s) {
		return Param{}, false, nil
	}
	if p.s[p.i] == '"' {
		v, err := p.quoted()
		if err != nil {
			return Param{}, false, err
		}
		return Param{Name: strings.ToLower(name), Value: v}, true, nil
	}
	v := p.token()
	if v == "" {
		return Param{}, false, nil
	}
	// A token value must end the element: "a=b c" is neither a param nor
	// a token68.
	save := p.i
	p.ows()
	if p.i < len(p.s) && p.s[p.i] != ',' {
		return Param{}, false, p.errorf("unexpected %q after parameter value", p.s[p.i])
	}
	p.i = save
	return Param{Name: strings.ToLower(name), Value: v}, true, nil
}

// quoted parses a quoted-string at p.i (which is '"').
func (p *parser) quoted() (string, error) {
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		switch {
		case ch == '"':
			p.i++
			return b.String(), nil
		case ch == '\\':
			if p.i+1 == len(p.s) {
				return "", p.errorf("unterminated quoted-pair")
			}
			q := p.s[p.i+1]
			if !isQuotedPairChar(q) {
				return "", p.errorf("invalid quoted-pair")
			}
			b.WriteByte(q)
			p.i += 2
		case isQdtext(ch):
			b.WriteByte(ch)
			p.i++
		default:
			return "", p.errorf("invalid byte %#x in quoted-string", ch)
		}
	}
	return "", p.errorf("unterminated quoted-string")
}

func (p *parser) token68() string {
	start := p.i
	for p.i < len(p.s) && isToken68Char(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return ""
	}
	for p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
	}
	return p.s[start:p.i]
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) || c >= 0x80
}

// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7E) || c >= 0x80
}
