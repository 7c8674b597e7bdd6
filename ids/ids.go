// Package ids makes the service's identifiers: a short type prefix and a
// UUIDv7, so ids sort by creation time and say what they name.
package ids

import "github.com/google/uuid"

// New returns prefix_<uuidv7>.
func New(prefix string) string {
	return prefix + "_" + uuid.Must(uuid.NewV7()).String()
}
