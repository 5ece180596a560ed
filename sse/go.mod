module github.com/streamkit-dev/streamkit/sse

go 1.25.0

require (
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/streamkit-dev/streamkit/codec v0.0.0
	github.com/streamkit-dev/streamkit/eventstore v0.0.0
	github.com/streamkit-dev/streamkit/httpx v0.0.0
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/streamkit-dev/streamkit/codec => ../codec

replace github.com/streamkit-dev/streamkit/eventstore => ../eventstore

replace github.com/streamkit-dev/streamkit/httpx => ../httpx
