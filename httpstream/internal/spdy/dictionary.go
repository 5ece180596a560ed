package spdy

import (
	"encoding/binary"
	"strings"
	"sync"
)

// The SPDY/3 header compression dictionary (SPDY/3 draft, section 2.6.10.1):
// each "|"-separated word below prefixed with its 4-byte big-endian length, followed by the
// trailing blob as is.
const (
	dictWords = "options|head|post|put|delete|trace|accept|accept-charset|accept-encoding|" +
		"accept-language|accept-ranges|age|allow|authorization|cache-control|connection|" +
		"content-base|content-encoding|content-language|content-length|content-location|" +
		"content-md5|content-range|content-type|date|etag|expect|expires|from|host|if-match|" +
		"if-modified-since|if-none-match|if-range|if-unmodified-since|last-modified|location|" +
		"max-forwards|pragma|proxy-authenticate|proxy-authorization|range|referer|retry-after|" +
		"server|te|trailer|transfer-encoding|upgrade|user-agent|vary|via|warning|www-authenticate|" +
		"method|get|status|200 OK|version|HTTP/1.1|url|public|set-cookie|keep-alive|origin"
	dictTail = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
		"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request" +
		"401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented" +
		"503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 " +
		"Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif," +
		"application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=" +
		"gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)

// headerDictionary returns the dictionary; it is built once and never
// modified, so sharing it between connections is safe.
var headerDictionary = sync.OnceValue(func() []byte {
	words := strings.Split(dictWords, "|")
	b := make([]byte, 0, 1423)
	for _, w := range words {
		b = binary.BigEndian.AppendUint32(b, uint32(len(w)))
		b = append(b, w...)
	}
	return append(b, dictTail...)
})
