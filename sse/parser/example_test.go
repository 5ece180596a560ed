package parser_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/streamkit-dev/streamkit/sse/parser"
)

func ExampleNew() {
	stream := "\uFEFFid: 1\nevent: greeting\ndata: hello\r\ndata: world\r\n\r\n: comment\n\ndata: no id here\n\nid: 2\ndata: cut off at EOF"
	p := parser.New(strings.NewReader(stream), parser.Options{})
	for {
		ev, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %q id=%s\n", ev.Type, ev.Data, ev.ID)
	}
	fmt.Println("last event ID:", p.LastEventID())
	// Output:
	// greeting "hello\nworld" id=1
	// message "no id here" id=1
	// last event ID: 1
}
