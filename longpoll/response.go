package longpoll

import (
	"net/http"
	"strconv"
	"time"
)

// pollHeaderBlock is setPollHeaders as net/http writes them (sorted by
// name), for answers written straight to a parked connection.
const pollHeaderBlock = "Cache-Control: no-cache, no-store, must-revalidate\r\n" +
	"Content-Type: application/json\r\n" +
	"Expires: 0\r\n" +
	"Pragma: no-cache\r\n" +
	"X-Content-Type-Options: nosniff\r\n"

// renderResponse is the whole HTTP/1.1 response net/http would write for a
// subscription answer: status line, the poll headers, Date, Content-Length
// (in net/http's order), body.
func renderResponse(status int, body []byte, now time.Time) []byte {
	b := make([]byte, 0, 200+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	b = append(b, pollHeaderBlock...)
	b = append(b, "Date: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}
