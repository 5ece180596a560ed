package streamable

import "slices"

// MCP protocol revisions the server layer knows.
const (
	Rev20250326 = "2025-03-26" // sessions, GET stream, resumability, JSON-RPC batches
	Rev20250618 = "2025-06-18" // no batches; MCP-Protocol-Version header
	Rev20251125 = "2025-11-25" // priming event and retry: for resumable streams
	Rev20260728 = "2026-07-28" // stateless: no sessions, GET, DELETE or resumption; disconnect cancels
)

// VersionPolicy says which revisions a server accepts and how to read a
// request that does not name one.
type VersionPolicy struct {
	// Supported lists the MCP-Protocol-Version values accepted; a request
	// naming another gets 400. nil means all four known revisions.
	Supported []string
	// Assume is the revision of a request without the header, when its
	// session did not negotiate one. "" means 2025-03-26, as the spec says.
	Assume string
}

// DefaultVersionPolicy accepts every known revision.
func DefaultVersionPolicy() VersionPolicy {
	return VersionPolicy{Supported: []string{Rev20250326, Rev20250618, Rev20251125, Rev20260728}}
}

// Supports reports whether v is accepted.
func (p VersionPolicy) Supports(v string) bool {
	if p.Supported == nil {
		return slices.Contains(DefaultVersionPolicy().Supported, v)
	}
	return slices.Contains(p.Supported, v)
}

func (p VersionPolicy) assume() string {
	if p.Assume == "" {
		return Rev20250326
	}
	return p.Assume
}

// AllowsBatch reports whether revision v accepts JSON-RPC batches in a
// POST body (only 2025-03-26).
func AllowsBatch(v string) bool { return v == Rev20250326 }

// HasSessions reports whether revision v has sessions, the GET stream,
// DELETE and resumption (every revision before 2026-07-28).
func HasSessions(v string) bool { return v < Rev20260728 }

// Primes reports whether revision v sends a priming event (an id with
// empty data) and a retry: hint at the start of resumable streams.
func Primes(v string) bool { return v >= Rev20251125 && v < Rev20260728 }

// DisconnectCancels reports whether closing a response stream cancels the
// request under revision v (2026-07-28); before it, a disconnect is not a
// cancellation and a resumable request keeps running.
func DisconnectCancels(v string) bool { return v >= Rev20260728 }
