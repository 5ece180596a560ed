module github.com/streamkit-dev/streamkit/authretry

go 1.25.0
