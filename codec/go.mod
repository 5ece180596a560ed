module github.com/streamkit-dev/streamkit/codec

go 1.25.0
