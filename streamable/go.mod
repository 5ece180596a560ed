module github.com/streamkit-dev/streamkit/streamable

go 1.25.0

require (
	github.com/streamkit-dev/streamkit/eventstore v0.0.0
	github.com/streamkit-dev/streamkit/httpx v0.0.0
	github.com/streamkit-dev/streamkit/sse v0.0.0
)

replace github.com/streamkit-dev/streamkit/codec => ../codec

replace github.com/streamkit-dev/streamkit/eventstore => ../eventstore

replace github.com/streamkit-dev/streamkit/httpx => ../httpx

replace github.com/streamkit-dev/streamkit/sse => ../sse
