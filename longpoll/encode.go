package longpoll

import (
	"encoding/json"
	"strconv"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// encodeEvent renders one event as golongpoll does, fields in its order:
// {"timestamp":ms,"category":"..","data":<JSON>,"id":"<uuid>"}. It is done
// once per event and the bytes are shared by every answer that carries it.
func encodeEvent(ev *eventstore.Event, hash uint64) []byte {
	cat, _ := json.Marshal(ev.Stream) // a string always marshals
	b := make([]byte, 0, len(ev.Data)+len(cat)+96)
	b = append(b, `{"timestamp":`...)
	b = strconv.AppendUint(b, ev.ID.Ms, 10)
	b = append(b, `,"category":`...)
	b = append(b, cat...)
	b = append(b, `,"data":`...)
	b = append(b, ev.Data...)
	b = append(b, `,"id":"`...)
	u, _ := encodeID(ev.ID, hash) // publish refuses IDs that do not encode
	b = formatUUID(b, u)
	return append(b, `"}`...)
}

// answerEvents is the body for events, oldest first.
func answerEvents(evs [][]byte, lost bool) []byte {
	n := 32
	for _, e := range evs {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"events":[`...)
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	b = append(b, ']')
	if lost {
		b = append(b, `,"history_lost":true`...)
	}
	return append(b, '}')
}

// answerTimeout is golongpoll's timeout body.
func answerTimeout(ts int64, lost bool) []byte {
	b := make([]byte, 0, 80)
	b = append(b, `{"timeout":"no events before timeout","timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	if lost {
		b = append(b, `,"history_lost":true`...)
	}
	return append(b, '}')
}

// answerError is golongpoll's error body, `{"error": "<text>"}` (with its
// space).
func answerError(text string) []byte {
	q, _ := json.Marshal(text)
	b := append([]byte(`{"error": `), q...)
	return append(b, '}')
}
