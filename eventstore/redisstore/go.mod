module github.com/streamkit-dev/streamkit/eventstore/redisstore

go 1.25.0

require (
	github.com/streamkit-dev/streamkit/eventstore v0.0.0
)

replace github.com/streamkit-dev/streamkit/eventstore => ..
