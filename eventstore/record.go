package eventstore

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// The file store's log is a sequence of records, each framed as
//
//	length  uint32 LE   payload length
//	crc     uint32 LE   CRC-32C (Castagnoli) of the payload
//	payload             kind (1) | ms (8 LE) | seq (8 LE) |
//	                    uvarint len | stream | uvarint len | type | data (the rest)
//
// A record whose frame is short, whose length runs past the end of the
// segment, whose CRC does not match or whose payload does not decode ends the
// readable part of a segment: it is a torn write and everything from it on is
// cut.

// Record kinds.
const (
	recAppend byte = 1 // an event: ID, stream, type, data
	recTrim   byte = 2 // Trim(stream, ID)
	recDelete byte = 3 // Delete(stream)
)

const (
	recHeaderLen = 8
	// recMaxPayload bounds a record a decoder accepts, whatever the length
	// field claims (events are bounded far below by MaxEventSize).
	recMaxPayload = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var errBadRecord = errors.New("eventstore: bad log record")

// record is one decoded log record. Its strings and Data alias the decoded
// buffer's copies (stream and type are copied into strings; Data aliases).
type record struct {
	kind   byte
	id     ID
	stream string
	typ    string
	data   []byte
}

// appendRecord encodes a record onto b.
func appendRecord(b []byte, kind byte, id ID, stream, typ string, data []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, id.Ms)
	b = binary.LittleEndian.AppendUint64(b, id.Seq)
	b = binary.AppendUvarint(b, uint64(len(stream)))
	b = append(b, stream...)
	b = binary.AppendUvarint(b, uint64(len(typ)))
	b = append(b, typ...)
	b = append(b, data...)
	payload := b[start+recHeaderLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

// decodeRecord decodes the record at the start of b and returns it with its
// encoded length. Any malformed input is errBadRecord; it never panics.
func decodeRecord(b []byte) (record, int, error) {
	if len(b) < recHeaderLen {
		return record{}, 0, errBadRecord
	}
	n := binary.LittleEndian.Uint32(b)
	if n > recMaxPayload || uint64(n) > uint64(len(b)-recHeaderLen) {
		return record{}, 0, errBadRecord
	}
	payload := b[recHeaderLen : recHeaderLen+int(n)]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, 0, errBadRecord
	}
	if len(payload) < 17 {
		return record{}, 0, errBadRecord
	}
	r := record{
		kind: payload[0],
		id:   ID{Ms: binary.LittleEndian.Uint64(payload[1:]), Seq: binary.LittleEndian.Uint64(payload[9:])},
	}
	if r.kind < recAppend || r.kind > recDelete {
		return record{}, 0, errBadRecord
	}
	p := payload[17:]
	var ok bool
	if r.stream, p, ok = readString(p); !ok || r.stream == "" {
		return record{}, 0, errBadRecord
	}
	if r.typ, p, ok = readString(p); !ok {
		return record{}, 0, errBadRecord
	}
	if r.kind == recAppend {
		r.data = p
	} else if len(p) != 0 || r.typ != "" {
		return record{}, 0, errBadRecord
	}
	return r, recHeaderLen + int(n), nil
}

func readString(p []byte) (string, []byte, bool) {
	l, k := binary.Uvarint(p)
	if k <= 0 || l > uint64(len(p)-k) {
		return "", nil, false
	}
	return string(p[k : k+int(l)]), p[k+int(l):], true
}
