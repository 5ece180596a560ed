package sse

import "net"

// rawConn is a hijacked HTTP/1.1 connection in high-density mode.
type rawConn struct {
	conn net.Conn
}

func (r *rawConn) write(b []byte) error { _, err := r.conn.Write(b); return err }

func (r *rawConn) end(c *Conn) {}
