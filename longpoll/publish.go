package longpoll

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// golongpoll's publish error texts, byte for byte.
const (
	errTextMethod      = "Invalid HTTP Method. Only POST allowed."
	errTextBody        = "Invalid POST body json."
	errTextPubCategory = "Invalid or missing 'category' arg, must be 1-1024 characters long."
	errTextData        = "Invalid or missing 'data' arg, must be non-nil."
)

// successBody is golongpoll's publish answer, exactly (note the space).
const successBody = `{"success": true}`

type publishBody struct {
	Category string          `json:"category"`
	Data     json.RawMessage `json:"data"`
}

func (b *Broker) servePublish(w http.ResponseWriter, r *http.Request) {
	if b.opts.BeforePublish != nil && !b.opts.BeforePublish(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write(answerError(errTextMethod))
		return
	}
	// Content-Type is not checked: golongpoll's Go client sends none.
	limit := int64(b.opts.MaxEventSize) + MaxCategoryLen + 4096
	var body publishBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(&body); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write(answerError(eventstore.ErrTooLarge.Error()))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextBody))
		return
	}
	if len(body.Category) == 0 || len(body.Category) > MaxCategoryLen {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextPubCategory))
		return
	}
	if len(body.Data) == 0 || string(body.Data) == "null" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answerError(errTextData))
		return
	}
	if _, err := b.publish(r.Context(), body.Category, body.Data); err != nil {
		w.WriteHeader(publishStatus(err))
		_, _ = w.Write(answerError(err.Error()))
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(successBody))
}

func publishStatus(err error) int {
	switch {
	case errors.Is(err, eventstore.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrStopped), errors.Is(err, ErrTooManyCategories), errors.Is(err, eventstore.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
