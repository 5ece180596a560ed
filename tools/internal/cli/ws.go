package cli

import (
	"bufio"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"sync"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/ws"
)

// frame is one WebSocket message as it came.
type frame struct {
	data []byte
	t    codec.MessageType
}

// rawCodec passes messages through (copying them: transports reuse their
// read buffers).
var rawCodec = codec.Funcs[frame, frame]{
	DecodeFunc: func(b []byte, t codec.MessageType) (frame, error) {
		return frame{append([]byte(nil), b...), t}, nil
	},
	EncodeFunc: func(f frame) ([]byte, codec.MessageType, error) { return f.data, f.t, nil },
}

func runWS(e *env, args []string) error {
	fs := flag.NewFlagSet("ws", flag.ContinueOnError)
	var protos strs
	fs.Var(&protos, "subprotocol", "subprotocol to request (repeatable, most preferred first)")
	hdr := headers{}
	fs.Var(hdr, "H", "handshake header 'Name: value' (repeatable), e.g. Origin or Authorization")
	count := fs.Int("count", 0, "close (1000) after receiving this many messages; stdin's end then does not close")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(pos, 1, "one URL"); err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		n    int
		werr error
	)
	sess := &ws.Hooks[frame, frame]{
		Message: func(c *ws.Conn[frame, frame], f frame) error {
			mu.Lock()
			defer mu.Unlock()
			if f.t == codec.Binary {
				_, werr = fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(f.data))
			} else {
				_, werr = fmt.Fprintln(e.stdout, string(f.data))
			}
			if werr != nil {
				return ws.CloseWith(ws.CloseGoingAway, "stdout closed")
			}
			if n++; *count > 0 && n == *count {
				_ = c.Close(ws.CloseNormal, "")
			}
			return nil
		},
	}
	opts := &ws.DialOptions{Header: http.Header(hdr)}
	opts.Subprotocols = protos
	opts.ReadLimit = 16 << 20
	conn, err := ws.Dial(e.ctx, pos[0], rawCodec, sess, opts)
	if err != nil {
		var he *ws.HandshakeError
		if errors.As(err, &he) {
			return fmt.Errorf("handshake refused: HTTP %d: %w", he.StatusCode, he.Err)
		}
		return err
	}
	e.logf("ws: connected to %s (subprotocol %q)", pos[0], conn.Subprotocol())

	// stdin lines go out as text messages; its end closes with 1000.
	go func() {
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if err := conn.Send(frame{append([]byte(nil), sc.Bytes()...), codec.Text}); err != nil {
				return
			}
		}
		if *count == 0 {
			_ = conn.Close(ws.CloseNormal, "")
		}
	}()
	select {
	case <-conn.Done():
	case <-e.ctx.Done():
		_ = conn.Close(ws.CloseGoingAway, "interrupted")
		<-conn.Done()
		return e.ctx.Err()
	}
	var ce *ws.CloseError
	if errors.As(conn.Err(), &ce) {
		who := "us"
		if ce.Remote {
			who = "the peer"
		}
		e.logf("ws: closed by %s: %d %q", who, ce.Code, ce.Reason)
		if ce.Code != ws.CloseNormal && ce.Code != ws.CloseGoingAway {
			return &peerError{fmt.Sprintf("connection closed with %d %q", ce.Code, ce.Reason)}
		}
	}
	return nil
}
