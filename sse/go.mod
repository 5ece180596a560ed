module github.com/streamkit-dev/streamkit/sse

go 1.25.0

require (
	github.com/streamkit-dev/streamkit/codec v0.0.0
	github.com/streamkit-dev/streamkit/eventstore v0.0.0
)

replace github.com/streamkit-dev/streamkit/codec => ../codec

replace github.com/streamkit-dev/streamkit/eventstore => ../eventstore
