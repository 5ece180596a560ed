module github.com/streamkit-dev/streamkit/httpstream/internal/interop

go 1.26.0

require (
	github.com/hashicorp/yamux v0.1.2
	github.com/moby/spdystream v0.5.1
	github.com/streamkit-dev/streamkit/httpstream v0.0.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	k8s.io/streaming v0.37.2
)

require (
	github.com/go-logr/logr v1.4.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.57.0 // indirect
	k8s.io/klog/v2 v2.140.0 // indirect
	k8s.io/utils v0.0.0-20260626114624-be93311217bd // indirect
)

replace github.com/streamkit-dev/streamkit/httpstream => ../..
