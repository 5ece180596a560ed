module github.com/streamkit-dev/streamkit/ws/internal/interop

go 1.25.0

require (
	github.com/streamkit-dev/streamkit/codec v0.0.0
	github.com/streamkit-dev/streamkit/codec/protocodec v0.0.0
	github.com/streamkit-dev/streamkit/ws v0.0.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/streamkit-dev/streamkit/ws => ../..

replace github.com/streamkit-dev/streamkit/codec => ../../../codec

replace github.com/streamkit-dev/streamkit/codec/protocodec => ../../../codec/protocodec

replace github.com/streamkit-dev/streamkit/httpx => ../../../httpx
