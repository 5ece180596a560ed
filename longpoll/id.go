package longpoll

import (
	"encoding/hex"
	"errors"
	"hash/fnv"
	"strings"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// Event IDs on the wire are UUID-shaped, because golongpoll's clients decode
// "id" (and send "last_id") as UUIDs, yet ordered, because they are the
// cursor: the value has the layout of a version 7 UUID (RFC 9562) and carries
// the eventstore ID of the event and a hash of its category.
//
//	bits  0..47  unix milliseconds (eventstore ID.Ms)
//	bits 48..51  version 7
//	bits 52..63  sequence bits 31..20
//	bits 64..65  variant 10
//	bits 66..85  sequence bits 19..0
//	bits 86..127 42-bit FNV-1a hash of the category
//
// Two IDs of one category compare, as strings or as bytes, in event order.
// The category hash lets a request for several categories carry one last_id
// per category.

// maxSeq is the largest eventstore sequence (within one millisecond) that
// fits an ID: 2^32-1 events in one millisecond.
const maxSeq = 1<<32 - 1

const hashBits = 42

var errBadUUID = errors.New("longpoll: not a UUID")

// wireID is a decoded event ID.
type wireID struct {
	ID   eventstore.ID
	Hash uint64 // category hash (42 bits)
}

func categoryHash(category string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(category))
	return h.Sum64() & (1<<hashBits - 1)
}

// encodeID returns the UUID bytes of an event of category with store ID id.
func encodeID(id eventstore.ID, hash uint64) (u [16]byte, ok bool) {
	if id.Seq > maxSeq || id.Ms >= 1<<48 {
		return u, false
	}
	ms := id.Ms
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	hi := id.Seq >> 20 // 12 bits
	u[6] = 0x70 | byte(hi>>8)
	u[7] = byte(hi)
	// 62 low bits: 20 bits of sequence, then the 42-bit hash.
	lo := (id.Seq&(1<<20-1))<<hashBits | hash&(1<<hashBits-1)
	for i := 15; i >= 8; i-- {
		u[i] = byte(lo)
		lo >>= 8
	}
	u[8] = u[8]&0x3f | 0x80
	return u, true
}

// formatUUID appends the canonical (8-4-4-4-12, lower case) form of u.
func formatUUID(b []byte, u [16]byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return append(b, buf[:]...)
}

// FormatID returns the wire ID ("last_id") of the event with store ID id in
// category. It returns "" if id cannot be encoded (a sequence above 2^32-1
// within one millisecond, or a time past the year 10889).
func FormatID(category string, id eventstore.ID) string {
	u, ok := encodeID(id, categoryHash(category))
	if !ok {
		return ""
	}
	return string(formatUUID(nil, u))
}

// parseUUID accepts the forms golongpoll's UUID parser accepts: canonical
// (36), braced (38), "urn:uuid:" prefixed (45) and 32 hex digits.
func parseUUID(s string) (u [16]byte, err error) {
	switch len(s) {
	case 36:
	case 38:
		if s[0] != '{' || s[37] != '}' {
			return u, errBadUUID
		}
		s = s[1:37]
	case 45:
		if !strings.EqualFold(s[:9], "urn:uuid:") {
			return u, errBadUUID
		}
		s = s[9:]
	case 32:
		if _, err := hex.Decode(u[:], []byte(s)); err != nil {
			return u, errBadUUID
		}
		return u, nil
	default:
		return u, errBadUUID
	}
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errBadUUID
	}
	j := 0
	for _, part := range [5][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		n, err := hex.Decode(u[j:], []byte(s[part[0]:part[1]]))
		if err != nil {
			return u, errBadUUID
		}
		j += n
	}
	return u, nil
}

// decodeID returns the store ID and category hash carried by a wire ID, and
// false for a UUID that is not one of ours (another version or variant).
func decodeID(u [16]byte) (wireID, bool) {
	if u[6]>>4 != 7 || u[8]>>6 != 2 {
		return wireID{}, false
	}
	var ms uint64
	for i := range 6 {
		ms = ms<<8 | uint64(u[i])
	}
	hi := uint64(u[6]&0x0f)<<8 | uint64(u[7])
	var lo uint64
	for i := 8; i < 16; i++ {
		lo = lo<<8 | uint64(u[i])
	}
	lo &= 1<<62 - 1
	seq := hi<<20 | lo>>hashBits
	return wireID{ID: eventstore.ID{Ms: ms, Seq: seq}, Hash: lo & (1<<hashBits - 1)}, true
}

// ParseID returns the eventstore ID carried by a wire ID of category, and
// false if s is not a UUID, not one of this package's IDs, or an ID of
// another category.
func ParseID(category, s string) (eventstore.ID, bool) {
	u, err := parseUUID(s)
	if err != nil {
		return eventstore.ID{}, false
	}
	w, ok := decodeID(u)
	if !ok || w.Hash != categoryHash(category) {
		return eventstore.ID{}, false
	}
	return w.ID, true
}
