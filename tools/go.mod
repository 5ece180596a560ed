module github.com/streamkit-dev/streamkit/tools

go 1.25.0

require (
	github.com/stretchr/testify v1.12.1
	golang.org/x/exp v0.0.0-20251125195548-87e1e737ad39
	golang.org/x/mod v0.30.0
	golang.org/x/tools v0.39.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
)

require (
	github.com/redis/go-redis/v9 v9.22.0
	github.com/streamkit-dev/streamkit/codec v0.0.0
	github.com/streamkit-dev/streamkit/eventstore v0.0.0
	github.com/streamkit-dev/streamkit/eventstore/redisstore v0.0.0
	github.com/streamkit-dev/streamkit/httpstream v0.0.0
	github.com/streamkit-dev/streamkit/httpx v0.0.0
	github.com/streamkit-dev/streamkit/longpoll v0.0.0
	github.com/streamkit-dev/streamkit/sse v0.0.0
	github.com/streamkit-dev/streamkit/streamable v0.0.0
	github.com/streamkit-dev/streamkit/ws v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/streamkit-dev/streamkit/codec => ../codec

replace github.com/streamkit-dev/streamkit/eventstore => ../eventstore

replace github.com/streamkit-dev/streamkit/eventstore/redisstore => ../eventstore/redisstore

replace github.com/streamkit-dev/streamkit/httpstream => ../httpstream

replace github.com/streamkit-dev/streamkit/httpx => ../httpx

replace github.com/streamkit-dev/streamkit/longpoll => ../longpoll

replace github.com/streamkit-dev/streamkit/sse => ../sse

replace github.com/streamkit-dev/streamkit/streamable => ../streamable

replace github.com/streamkit-dev/streamkit/ws => ../ws
