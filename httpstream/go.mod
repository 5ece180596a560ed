module github.com/streamkit-dev/streamkit/httpstream

go 1.25.0
