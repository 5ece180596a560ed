package httpstream

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// IsUpgradeRequest reports whether req asks for a connection upgrade
// (a Connection header with the "upgrade" token).
func IsUpgradeRequest(req *http.Request) bool {
	for _, v := range req.Header.Values(HeaderConnection) {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// protocolHeaders splits repeated and comma-separated protocol values.
func protocolHeaders(values []string) []string {
	var out []string
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Handshake negotiates the stream protocol of an upgrade request. The
// client lists its protocols, most preferred first, in
// X-Stream-Protocol-Version; the first one the server supports wins and is
// echoed in w's X-Stream-Protocol-Version header. When the header is
// missing, Handshake answers 400; when nothing overlaps, 403 with every
// server protocol in X-Accepted-Stream-Protocol-Versions. In both cases the
// response is written and an error returned: the caller must not upgrade.
func Handshake(req *http.Request, w http.ResponseWriter, serverProtocols []string) (string, error) {
	if len(serverProtocols) == 0 {
		err := errors.New("httpstream: Handshake: no server protocols")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return "", err
	}
	client := protocolHeaders(req.Header.Values(HeaderProtocolVersion))
	if len(client) == 0 {
		err := fmt.Errorf("httpstream: unable to upgrade: %s is required", HeaderProtocolVersion)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "", err
	}
	for _, c := range client {
		for _, s := range serverProtocols {
			if c == s {
				w.Header().Set(HeaderProtocolVersion, c)
				return c, nil
			}
		}
	}
	for _, s := range serverProtocols {
		w.Header().Add(HeaderAcceptedProtocolVersions, s)
	}
	err := fmt.Errorf("httpstream: unable to upgrade: unable to negotiate protocol: client supports %q, server accepts %q", client, serverProtocols)
	http.Error(w, err.Error(), http.StatusForbidden)
	return "", err
}

// UpgradeFailureError is returned when the server did not switch
// protocols: its answer (status and message) is in Cause.
type UpgradeFailureError struct {
	StatusCode int
	Cause      error
}

func (e *UpgradeFailureError) Error() string {
	return fmt.Sprintf("httpstream: unable to upgrade streaming request: %v", e.Cause)
}

func (e *UpgradeFailureError) Unwrap() error { return e.Cause }

// IsUpgradeFailure reports whether err is (or wraps) an UpgradeFailureError.
func IsUpgradeFailure(err error) bool {
	var e *UpgradeFailureError
	return errors.As(err, &e)
}
