// Package spdy is a SPDY/3.1 framer: it reads and writes the frames that
// k8s.io/streaming (through moby/spdystream) puts on the wire, with header
// blocks compressed by zlib and the SPDY/3 dictionary, one compression context
// per direction. Every length and count read from the wire is checked against
// Limits before anything is allocated for it.
//
// A Framer is not safe for concurrent use: one goroutine reads, and writers
// serialise on a lock of their own (the compression context must advance in
// the order the frames reach the wire).
package spdy

import (
	"errors"
	"fmt"
	"net/http"
)

// Version is the protocol version in every control frame.
const Version = 3

// FrameType is the type of a control frame; TypeData marks a DATA frame.
type FrameType uint16

// Frame types (SPDY/3.1; NOOP and CREDENTIAL are not used).
const (
	TypeData         FrameType = 0
	TypeSynStream    FrameType = 1
	TypeSynReply     FrameType = 2
	TypeRstStream    FrameType = 3
	TypeSettings     FrameType = 4
	TypePing         FrameType = 6
	TypeGoAway       FrameType = 7
	TypeHeaders      FrameType = 8
	TypeWindowUpdate FrameType = 9
)

func (t FrameType) String() string {
	switch t {
	case TypeData:
		return "DATA"
	case TypeSynStream:
		return "SYN_STREAM"
	case TypeSynReply:
		return "SYN_REPLY"
	case TypeRstStream:
		return "RST_STREAM"
	case TypeSettings:
		return "SETTINGS"
	case TypePing:
		return "PING"
	case TypeGoAway:
		return "GOAWAY"
	case TypeHeaders:
		return "HEADERS"
	case TypeWindowUpdate:
		return "WINDOW_UPDATE"
	}
	return fmt.Sprintf("type(%d)", uint16(t))
}

// Frame flags.
const (
	FlagFin            uint8 = 0x01 // DATA, SYN_STREAM, SYN_REPLY, HEADERS
	FlagUnidirectional uint8 = 0x02 // SYN_STREAM
	FlagClearSettings  uint8 = 0x01 // SETTINGS
)

// RST_STREAM status codes.
const (
	StatusProtocolError       uint32 = 1
	StatusInvalidStream       uint32 = 2
	StatusRefusedStream       uint32 = 3
	StatusUnsupportedVersion  uint32 = 4
	StatusCancel              uint32 = 5
	StatusInternalError       uint32 = 6
	StatusFlowControlError    uint32 = 7
	StatusStreamInUse         uint32 = 8
	StatusStreamAlreadyClosed uint32 = 9
	StatusFrameTooLarge       uint32 = 11
)

// GOAWAY status codes.
const (
	GoAwayOK            uint32 = 0
	GoAwayProtocolError uint32 = 1
	GoAwayInternalError uint32 = 2
)

// SETTINGS identifiers used here.
const (
	SettingMaxConcurrentStreams uint32 = 4
	SettingInitialWindowSize    uint32 = 7
)

// MaxDataLength is the largest DATA payload the 24-bit length can carry.
const MaxDataLength = 1<<24 - 1

// Setting is one SETTINGS entry.
type Setting struct {
	Flags uint8
	ID    uint32
	Value uint32
}

// Frame is one decoded frame. The Framer reuses it: a caller copies what it
// needs before the next ReadFrame. Headers is a fresh map each time.
type Frame struct {
	Type     FrameType
	Flags    uint8
	StreamID uint32 // SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE, DATA
	// Length is, for DATA, the payload still to be read from the Framer's
	// reader (ReadData or DiscardData); for other frames the payload length.
	Length uint32

	AssocID    uint32      // SYN_STREAM
	Priority   uint8       // SYN_STREAM, 0 (highest) to 7
	Headers    http.Header // canonical keys, as net/http and spdystream give them
	Status     uint32      // RST_STREAM, GOAWAY
	Delta      uint32      // WINDOW_UPDATE
	PingID     uint32      // PING
	LastGoodID uint32      // GOAWAY
	Settings   []Setting   // SETTINGS
}

// Fin reports whether the frame carries FLAG_FIN.
func (f *Frame) Fin() bool { return f.Flags&FlagFin != 0 && f.Type != TypeSettings }

// Limits bound what the reader accepts. The zero value of a field means its
// default.
type Limits struct {
	// MaxControlFrame bounds a control frame's payload (compressed header
	// block included). Default 256 KiB (spdystream v0.5.1: 16 MiB - 1).
	MaxControlFrame int
	// MaxHeaderBlock bounds a decompressed header block, every name and
	// value included. Default 256 KiB (spdystream v0.5.1: 1 MiB per field).
	MaxHeaderBlock int
	// MaxHeaders bounds the number of name/value pairs in a block.
	// Default 256 (spdystream v0.5.1: 1000).
	MaxHeaders int
}

// Defaults for Limits.
const (
	DefaultMaxControlFrame = 256 << 10
	DefaultMaxHeaderBlock  = 256 << 10
	DefaultMaxHeaders      = 256
	maxSettings            = 64 // SPDY/3 defines 8 IDs; more is an attack
)

func (l Limits) withDefaults() Limits {
	if l.MaxControlFrame <= 0 {
		l.MaxControlFrame = DefaultMaxControlFrame
	}
	if l.MaxHeaderBlock <= 0 {
		l.MaxHeaderBlock = DefaultMaxHeaderBlock
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	return l
}

// Errors that end a connection (the stream of frames can no longer be
// trusted, or the compression context is lost).
var (
	ErrFrameTooLarge      = errors.New("spdy: control frame exceeds limit")
	ErrHeaderLimit        = errors.New("spdy: header block exceeds limit")
	ErrUnsupportedVersion = errors.New("spdy: unsupported protocol version")
	ErrMalformed          = errors.New("spdy: malformed frame")
	ErrCompression        = errors.New("spdy: header block decompression failed")
)

// StreamError is a problem confined to one stream (an invalid header name,
// for example): the connection carries on after a RST_STREAM with Status.
type StreamError struct {
	StreamID uint32
	Status   uint32
	Reason   string
}

func (e *StreamError) Error() string {
	return fmt.Sprintf("spdy: stream %d: %s", e.StreamID, e.Reason)
}
