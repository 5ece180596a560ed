module github.com/streamkit-dev/streamkit/ws

go 1.25.0

require (
	github.com/streamkit-dev/streamkit/codec v0.0.0
	github.com/streamkit-dev/streamkit/httpx v0.0.0
)

replace github.com/streamkit-dev/streamkit/codec => ../codec
replace github.com/streamkit-dev/streamkit/httpx => ../httpx
