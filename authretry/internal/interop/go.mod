module github.com/streamkit-dev/streamkit/authretry/internal/interop

go 1.25.0

require (
	github.com/streamkit-dev/streamkit/authretry v0.0.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.36.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/streamkit-dev/streamkit/authretry => ../..
