module github.com/streamkit-dev/streamkit/tools

go 1.25.0

require (
	github.com/stretchr/testify v1.12.1
	golang.org/x/exp v0.0.0-20251125195548-87e1e737ad39
	golang.org/x/mod v0.30.0
	golang.org/x/tools v0.39.0
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
