package store

// GroupCommits reports how many group commits carried more than one
// event, and how many Postgres batches were written again event by event.
func GroupCommits(s *Store) (multi, rewritten int64) {
	return s.ingests.multi.Load(), s.ingests.rewritten.Load()
}
