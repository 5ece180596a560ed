module github.com/streamkit-dev/streamkit/eventstore

go 1.25.0
