package sse

import (
	"context"
	"fmt"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore"
)

// Encode encodes v with c for an SSE data field. SSE carries text only: a
// codec that produces codec.Binary is refused with ErrBinary (encode binary
// payloads as base64 or protojson instead).
func Encode[I, O any](c codec.Codec[I, O], v O) ([]byte, error) {
	b, t, err := c.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("sse: encode: %w", err)
	}
	if t != codec.Text {
		return nil, ErrBinary
	}
	return b, nil
}

// PublishValue encodes v with c and publishes it to topic as an event of
// type typ ("" for the default "message"). See Server.Publish.
func PublishValue[I, O any](ctx context.Context, s *Server, c codec.Codec[I, O], topic, typ string, v O) (eventstore.ID, error) {
	b, err := Encode(c, v)
	if err != nil {
		return eventstore.ID{}, err
	}
	return s.Publish(ctx, topic, Event{Type: typ, Data: b})
}
