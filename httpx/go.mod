module github.com/streamkit-dev/streamkit/httpx

go 1.25.0
