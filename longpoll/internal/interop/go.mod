module github.com/streamkit-dev/streamkit/longpoll/internal/interop

go 1.25.0

require (
	github.com/jcuga/golongpoll v1.3.1
	github.com/streamkit-dev/streamkit/httpx v0.0.0
	github.com/streamkit-dev/streamkit/longpoll v0.0.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gofrs/uuid v4.0.0+incompatible // indirect
	github.com/streamkit-dev/streamkit/eventstore v0.0.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/streamkit-dev/streamkit/longpoll => ../..

replace github.com/streamkit-dev/streamkit/eventstore => ../../../eventstore

replace github.com/streamkit-dev/streamkit/httpx => ../../../httpx
