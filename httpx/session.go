package httpx

import "crypto/rand"

// NewSessionID returns a new random session ID: 26 characters of base32
// (A-Z, 2-7) carrying at least 128 bits from crypto/rand. It is visible
// ASCII, so it fits an HTTP header (such as Mcp-Session-Id), a URL and a
// cookie unescaped, and it is unguessable, so it can name a session.
func NewSessionID() string {
	// rand.Text never fails: crypto/rand's Read aborts the program rather
	// than return predictable bytes.
	return rand.Text()
}
