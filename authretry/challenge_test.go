package authretry

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWWWAuthenticateVectors(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		want   []Challenge
	}{
		{
			name:   "bare bearer",
			fields: []string{"Bearer"},
			want:   []Challenge{{Scheme: "Bearer"}},
		},
		{
			name:   "RFC 6750 section 3 example",
			fields: []string{`Bearer realm="example"`},
			want:   []Challenge{{Scheme: "Bearer", Params: []Param{{"realm", "example"}}}},
		},
		{
			name: "RFC 6750 section 3 invalid_token example",
			fields: []string{`Bearer realm="example",
                       error="invalid_token",
                       error_description="The access token expired"`},
			want: nil, // newlines are not OWS: the folded form is invalid in a field value
		},
		{
			name:   "RFC 6750 scope with = & and comma inside quotes",
			fields: []string{`Bearer realm="example", scope="urn:example:channel=HBO&urn:example:rating=G,PG-13"`},
			want: []Challenge{{Scheme: "Bearer", Params: []Param{
				{"realm", "example"},
				{"scope", "urn:example:channel=HBO&urn:example:rating=G,PG-13"},
			}}},
		},
		{
			name:   "escaped backslash before closing quote then a second challenge",
			fields: []string{`Basic realm="x\\", Bearer error="invalid_token"`},
			want: []Challenge{
				{Scheme: "Basic", Params: []Param{{"realm", `x\`}}},
				{Scheme: "Bearer", Params: []Param{{"error", "invalid_token"}}},
			},
		},
		{
			name:   "escaped quote inside value",
			fields: []string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			want: []Challenge{
				{Scheme: "Newauth", Params: []Param{{"realm", "apps"}, {"type", "1"}, {"title", `Login to "apps"`}}},
				{Scheme: "Basic", Params: []Param{{"realm", "simple"}}},
			},
		},
		{
			name:   "bearer not first",
			fields: []string{`Basic realm="a", Bearer realm="b", scope="read write", error="insufficient_scope"`},
			want: []Challenge{
				{Scheme: "Basic", Params: []Param{{"realm", "a"}}},
				{Scheme: "Bearer", Params: []Param{{"realm", "b"}, {"scope", "read write"}, {"error", "insufficient_scope"}}},
			},
		},
		{
			name:   "error_description containing scope=x",
			fields: []string{`Bearer error="insufficient_scope", error_description="need scope=x, really"`},
			want: []Challenge{{Scheme: "Bearer", Params: []Param{
				{"error", "insufficient_scope"}, {"error_description", "need scope=x, really"},
			}}},
		},
		{
			name:   "several field lines",
			fields: []string{`Basic realm="a"`, `Bearer resource_metadata="https://x.example/.well-known/oauth-protected-resource"`},
			want: []Challenge{
				{Scheme: "Basic", Params: []Param{{"realm", "a"}}},
				{Scheme: "Bearer", Params: []Param{{"resource_metadata", "https://x.example/.well-known/oauth-protected-resource"}}},
			},
		},
		{
			name:   "token values and whitespace around =",
			fields: []string{"Bearer error = invalid_token ,\trealm\t=\t\"r\""},
			want:   []Challenge{{Scheme: "Bearer", Params: []Param{{"error", "invalid_token"}, {"realm", "r"}}}},
		},
		{
			name:   "case-insensitive scheme and names",
			fields: []string{`bEaReR REALM="x", Error=invalid_token`},
			want:   []Challenge{{Scheme: "bEaReR", Params: []Param{{"realm", "x"}, {"error", "invalid_token"}}}},
		},
		{
			name:   "token68",
			fields: []string{`Negotiate YIIBhgYGKwYBBQUCoII=, Bearer`},
			want:   []Challenge{{Scheme: "Negotiate", Token68: "YIIBhgYGKwYBBQUCoII="}, {Scheme: "Bearer"}},
		},
		{
			name:   "token68 with slashes and padding",
			fields: []string{`Basic dXNlcjpw/YXNz==`},
			want:   []Challenge{{Scheme: "Basic", Token68: "dXNlcjpw/YXNz=="}},
		},
		{
			name:   "empty list elements",
			fields: []string{` , Bearer realm="a",, , error=x ,, Basic , `},
			want: []Challenge{
				{Scheme: "Bearer", Params: []Param{{"realm", "a"}, {"error", "x"}}},
				{Scheme: "Basic"},
			},
		},
		{
			name:   "empty quoted value",
			fields: []string{`Bearer realm=""`},
			want:   []Challenge{{Scheme: "Bearer", Params: []Param{{"realm", ""}}}},
		},
		{
			name:   "bare schemes in a row",
			fields: []string{`Bearer, Basic, Digest realm="d"`},
			want:   []Challenge{{Scheme: "Bearer"}, {Scheme: "Basic"}, {Scheme: "Digest", Params: []Param{{"realm", "d"}}}},
		},
		{name: "empty", fields: []string{""}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWWWAuthenticate(tt.fields...)
			if tt.want == nil && strings.Contains(tt.name, "invalid_token example") {
				require.ErrorIs(t, err, ErrMalformedChallenge)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			// Round trip: formatting and re-parsing gives the same value.
			again, err := ParseWWWAuthenticate(FormatWWWAuthenticate(got))
			require.NoError(t, err)
			assert.Equal(t, got, again)
		})
	}
}

func TestParseWWWAuthenticateRejects(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{`Bearer realm="unterminated`, ErrMalformedChallenge},
		{`Bearer realm="x\`, ErrMalformedChallenge},
		{`Bearer realm="a", realm="b"`, ErrDuplicateParam},
		{`Bearer scope="a", SCOPE="b"`, ErrDuplicateParam},
		{`Bearer realm=a b`, ErrMalformedChallenge},
		{`=Bearer`, ErrMalformedChallenge},
		{`Bearer realm="x"junk`, ErrMalformedChallenge},
		{`Negotiate abc=, realm="x"`, ErrMalformedChallenge},
		{"Bearer realm=\"a\x00b\"", ErrMalformedChallenge},
		{`Bearer@ realm="x"`, ErrMalformedChallenge},
		{`realm="x"`, ErrMalformedChallenge},
		{`Bearer ` + strings.Repeat("a", MaxWWWAuthenticateLength), ErrChallengeTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 40)], func(t *testing.T) {
			got, err := ParseWWWAuthenticate(tt.in)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, got)
		})
	}
}

func TestParseWWWAuthenticateTooLongAcrossLines(t *testing.T) {
	line := `Bearer realm="` + strings.Repeat("a", 3000) + `"`
	_, err := ParseWWWAuthenticate(line, line)
	require.NoError(t, err)
	_, err = ParseWWWAuthenticate(line, line, line)
	require.ErrorIs(t, err, ErrChallengeTooLong)
}

func TestBearerFields(t *testing.T) {
	cs, err := ParseWWWAuthenticate(
		`Basic realm="basic", scope="wrong"`,
		`Bearer realm="api", scope="files:read  files:write", error="insufficient_scope", `+
			`error_description="needs scope=admin", error_uri="https://docs.example/e", `+
			`resource_metadata="https://api.example/.well-known/oauth-protected-resource/mcp"`)
	require.NoError(t, err)
	b, ok := FindBearer(cs)
	require.True(t, ok)
	assert.Equal(t, Bearer{
		Realm:            "api",
		Scope:            []string{"files:read", "files:write"},
		Error:            ErrorInsufficientScope,
		ErrorDescription: "needs scope=admin",
		ErrorURI:         "https://docs.example/e",
		ResourceMetadata: "https://api.example/.well-known/oauth-protected-resource/mcp",
	}, b)

	_, ok = cs[0].Bearer()
	assert.False(t, ok, "Basic is not Bearer")
	_, ok = FindBearer(cs[:1])
	assert.False(t, ok, "Bearer fields never come from another scheme's challenge")

	bare, err := ParseWWWAuthenticate("BEARER")
	require.NoError(t, err)
	b, ok = FindBearer(bare)
	require.True(t, ok)
	assert.Equal(t, Bearer{}, b)
}

func TestChallengeString(t *testing.T) {
	c := Challenge{Scheme: "Bearer", Params: []Param{
		{"realm", `a "quoted" \ value`}, {"error", "invalid_token"}, {"scope", ""},
	}}
	assert.Equal(t, `Bearer realm="a \"quoted\" \\ value", error=invalid_token, scope=""`, c.String())
	assert.Equal(t, "Negotiate abc==", Challenge{Scheme: "Negotiate", Token68: "abc=="}.String())
	v, ok := c.Param("REALM")
	assert.True(t, ok)
	assert.Equal(t, `a "quoted" \ value`, v)
	_, ok = c.Param("nope")
	assert.False(t, ok)
}
