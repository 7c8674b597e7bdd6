package zoom

import "net/http"

// deleteRegistrant is "Delete a meeting registrant"
// (DELETE /v2/meetings/{meetingId}/registrants/{registrantId}): 204, the
// registrant is gone from every status list; an unknown meeting is 404
// code 3001, an unknown registrant 404 (the fake's code 3079: an
// assumption, Zoom documents only the 404).
func (s *Fake) deleteRegistrant(w http.ResponseWriter, r *http.Request, _ []byte) {
	m, ok := s.meeting(w, r)
	if !ok {
		return
	}
	id := r.PathValue("registrantId")
	for i, reg := range m.Registrants {
		if reg.ID == id {
			m.Registrants = append(m.Registrants[:i], m.Registrants[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, http.StatusNotFound, 3079, "Registrant not found.")
}
