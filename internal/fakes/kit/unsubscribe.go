package kit

import (
	"net/http"
	"strconv"
)

// unsubscribe is POST /v4/subscribers/{id}/unsubscribe ({} body): 204,
// the subscriber's state becomes "cancelled" (Kit keeps the subscriber;
// its API cannot delete one). Unknown id: 404 {"errors":["Not Found"]}.
func (f *Fake) unsubscribe(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	f.mu.Lock()
	s, ok := f.subs[id]
	if ok {
		s.State = "cancelled"
	}
	f.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
