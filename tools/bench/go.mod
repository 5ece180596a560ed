module github.com/streamkit-dev/streamkit/tools/bench

go 1.25.0

require (
	github.com/coder/websocket v1.8.15
	github.com/gorilla/websocket v1.5.3
	github.com/jcuga/golongpoll v1.3.1
	github.com/launchdarkly/eventsource v1.11.0
	github.com/modelcontextprotocol/go-sdk v1.8.0
	github.com/olahol/melody v1.1.4
	github.com/r3labs/sse/v2 v2.10.0
	github.com/redis/go-redis/v9 v9.22.0
	github.com/streamkit-dev/streamkit/authretry v0.0.0
	github.com/streamkit-dev/streamkit/codec v0.0.0
	github.com/streamkit-dev/streamkit/codec/protocodec v0.0.0
	github.com/streamkit-dev/streamkit/eventstore v0.0.0
	github.com/streamkit-dev/streamkit/eventstore/redisstore v0.0.0
	github.com/streamkit-dev/streamkit/httpx v0.0.0
	github.com/streamkit-dev/streamkit/longpoll v0.0.0
	github.com/streamkit-dev/streamkit/sse v0.0.0
	github.com/streamkit-dev/streamkit/streamable v0.0.0
	github.com/streamkit-dev/streamkit/streamable/examples/mcpserver v0.0.0
	github.com/streamkit-dev/streamkit/tools v0.0.0
	github.com/streamkit-dev/streamkit/ws v0.0.0
	github.com/stretchr/testify v1.12.1
	github.com/tmaxmax/go-sse v0.11.0
	golang.org/x/oauth2 v0.36.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gofrs/uuid v4.0.0+incompatible // indirect
	github.com/google/jsonschema-go v0.4.3 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/segmentio/encoding v0.5.4 // indirect
	github.com/streamkit-dev/streamkit/httpstream v0.0.0 // indirect
	github.com/yosida95/uritemplate/v3 v3.0.2 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.0.0-20191116160921-f9c825593386 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	gopkg.in/cenkalti/backoff.v1 v1.1.0 // indirect
)

replace github.com/streamkit-dev/streamkit/authretry => ../../authretry

replace github.com/streamkit-dev/streamkit/codec => ../../codec

replace github.com/streamkit-dev/streamkit/codec/protocodec => ../../codec/protocodec

replace github.com/streamkit-dev/streamkit/eventstore => ../../eventstore

replace github.com/streamkit-dev/streamkit/eventstore/redisstore => ../../eventstore/redisstore

replace github.com/streamkit-dev/streamkit/httpx => ../../httpx

replace github.com/streamkit-dev/streamkit/ws => ../../ws

replace github.com/streamkit-dev/streamkit/longpoll => ../../longpoll

replace github.com/streamkit-dev/streamkit/streamable => ../../streamable

replace github.com/streamkit-dev/streamkit/streamable/examples/mcpserver => ../../streamable/examples/mcpserver

replace github.com/streamkit-dev/streamkit/sse => ../../sse

replace github.com/streamkit-dev/streamkit/tools => ../

replace github.com/streamkit-dev/streamkit/httpstream => ../../httpstream
