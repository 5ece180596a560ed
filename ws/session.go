package ws

// Session is the behaviour of one connection: what a Handler returns for an
// accepted request, and what Dial runs for a client connection. Only
// OnMessage is required; a Session may also implement Starter, ErrorHandler,
// TimeoutHandler and Closer, or be a *Hooks.
//
// Concurrency: all hooks of one connection run on that connection's read
// goroutine, one at a time, in order: OnStart, then OnMessage/OnError for
// each message, then OnTimeout (if the peer went silent), then OnClose,
// exactly once. A slow hook delays reading (and so pongs) for its
// connection only; pings keep going out. Hooks of different connections run
// concurrently.
type Session[I, O any] interface {
	// OnMessage handles one decoded message. A non-nil error closes the
	// connection: with the code of a *CloseError in its chain (see
	// CloseWith), otherwise with 1011.
	OnMessage(c *Conn[I, O], msg I) error
}

// Starter is implemented by a Session that wants to run code once the
// connection is open, before any message is read. A non-nil error closes the
// connection as OnMessage's does.
type Starter[I, O any] interface {
	OnStart(c *Conn[I, O]) error
}

// ErrorHandler is implemented by a Session that decides what a message that
// cannot be decoded does. Returning true skips the message and keeps the
// connection; false (and the default without the method) closes it with 1003
// for a frame type the codec does not take, 1007 otherwise.
type ErrorHandler[I, O any] interface {
	OnError(c *Conn[I, O], err error) bool
}

// TimeoutHandler is implemented by a Session that wants to know that the peer
// went silent for Options.PongTimeout. OnClose follows, with ErrPongTimeout.
type TimeoutHandler[I, O any] interface {
	OnTimeout(c *Conn[I, O])
}

// Closer is implemented by a Session that wants to know the connection ended.
// OnClose runs exactly once per connection whose OnStart ran, on every path
// (peer close, our close, network error, timeout, shutdown), after the last
// other hook. err is a *CloseError (errors.As) describing the end.
type Closer[I, O any] interface {
	OnClose(c *Conn[I, O], err error)
}

// Hooks is a Session made of optional functions, for callers who prefer
// closures to a type. A nil OnMessage ignores messages.
type Hooks[I, O any] struct {
	Start   func(c *Conn[I, O]) error
	Message func(c *Conn[I, O], msg I) error
	Error   func(c *Conn[I, O], err error) bool
	Timeout func(c *Conn[I, O])
	Close   func(c *Conn[I, O], err error)
}

// OnStart calls h.Start if set.
func (h *Hooks[I, O]) OnStart(c *Conn[I, O]) error {
	if h.Start == nil {
		return nil
	}
	return h.Start(c)
}

// OnMessage calls h.Message if set.
func (h *Hooks[I, O]) OnMessage(c *Conn[I, O], msg I) error {
	if h.Message == nil {
		return nil
	}
	return h.Message(c, msg)
}

// OnError calls h.Error if set; without it, undecodable messages close the
// connection.
func (h *Hooks[I, O]) OnError(c *Conn[I, O], err error) bool {
	return h.Error != nil && h.Error(c, err)
}

// OnTimeout calls h.Timeout if set.
func (h *Hooks[I, O]) OnTimeout(c *Conn[I, O]) {
	if h.Timeout != nil {
		h.Timeout(c)
	}
}

// OnClose calls h.Close if set.
func (h *Hooks[I, O]) OnClose(c *Conn[I, O], err error) {
	if h.Close != nil {
		h.Close(c, err)
	}
}
