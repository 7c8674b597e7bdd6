package applecalendar

import (
	"bytes"
	"io"
	"net/http"
)

func readSome(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

func noBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
