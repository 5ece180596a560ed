package longpoll

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	// ErrStopped is returned by Publish after Shutdown (golongpoll panics
	// there instead).
	ErrStopped = errors.New("longpoll: broker stopped")
	// ErrBadCategory is returned for an empty category or one over
	// MaxCategoryLen bytes.
	ErrBadCategory = errors.New("longpoll: category must be 1-1024 bytes long")
	// ErrNilData is returned by Publish for nil or JSON null data.
	ErrNilData = errors.New("longpoll: data must be non-nil")
	// ErrTooManyCategories is returned when a new category would pass
	// Options.MaxCategories.
	ErrTooManyCategories = errors.New("longpoll: too many categories")
	// ErrTooManyWaiting is the cause of a 503 answer to a poll that would
	// pass Options.MaxWaiting.
	ErrTooManyWaiting = errors.New("longpoll: too many waiting clients")
	// ErrHistoryLost is yielded by [Client.Events] when the server says that
	// events after the client's cursor were evicted before it could read
	// them. The sequence goes on with the oldest events still held.
	ErrHistoryLost = errors.New("longpoll: history lost")
)
