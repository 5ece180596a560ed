package cli

import (
	"errors"
	"flag"
	"io"
	"net/http"

	"github.com/streamkit-dev/streamkit/httpstream"
)

func runStream(e *env, args []string) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	var protos strs
	fs.Var(&protos, "protocol", "stream protocol to offer in X-Stream-Protocol-Version (repeatable; default streamkit.v1)")
	hdr := headers{}
	fs.Var(hdr, "H", "upgrade request header 'Name: value' (repeatable)")
	sh := headers{}
	fs.Var(sh, "stream-header", "header of the stream opened (repeatable; default 'Streamtype: data')")
	method := fs.String("method", http.MethodPost, "HTTP method of the upgrade request")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(pos, 1, "one URL"); err != nil {
		return err
	}
	if len(protos) == 0 {
		protos = strs{"streamkit.v1"}
	}
	if len(sh) == 0 {
		sh["Streamtype"] = []string{"data"}
	}
	rt := httpstream.NewRoundTripper(httpstream.RoundTripperConfig{})
	conn, proto, err := rt.Dial(e.ctx, *method, pos[0], http.Header(hdr), protos...)
	if err != nil {
		return err
	}
	defer conn.Close()
	e.logf("stream: connected to %s (protocol %q)", pos[0], proto)
	s, err := conn.CreateStream(http.Header(sh))
	if err != nil {
		return err
	}
	// stdin goes to the stream, then a half-close; the stream goes to stdout
	// until the peer closes its side.
	sendErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(s, e.stdin)
		sendErr <- errors.Join(err, s.Close())
	}()
	recvDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(e.stdout, s)
		recvDone <- err
	}()
	select {
	case err = <-recvDone:
	case <-e.ctx.Done():
		_ = s.Reset()
		<-recvDone
		return e.ctx.Err()
	}
	if err != nil {
		return err
	}
	select {
	case err = <-sendErr:
		return err
	default:
		return nil // the peer ended the stream before stdin did
	}
}
