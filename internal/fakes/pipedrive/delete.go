package pipedrive

import (
	"net/http"
	"strconv"
)

// deletePerson is DELETE /api/v2/persons/{id}: {"success":true,"data":{"id"}}.
// Deals keep their person_id (Pipedrive unlinks them; the fake keeps the
// number so a test sees which deals were left behind).
func (f *Fake) deletePerson(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.person(w, r)
	if !ok {
		return
	}
	delete(f.persons, p.ID)
	f.ok(w, map[string]any{"id": p.ID}, nil)
}

// deleteDeal is DELETE /api/v2/deals/{id}: {"success":true,"data":{"id"}}.
func (f *Fake) deleteDeal(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.deals[id]; !ok {
		f.fail(w, http.StatusNotFound, "Deal not found")
		return
	}
	delete(f.deals, id)
	f.ok(w, map[string]any{"id": id}, nil)
}
