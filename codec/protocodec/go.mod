module github.com/streamkit-dev/streamkit/codec/protocodec

go 1.25.0

require github.com/streamkit-dev/streamkit/codec v0.0.0

require google.golang.org/protobuf v1.36.12

replace github.com/streamkit-dev/streamkit/codec => ..
