package console

import (
	"embed"
	"io/fs"
)

// dist is the committed build of the front end (npm run build in console/).
// `go run ./cmd/aqio-connect dev` needs nothing but Go because of it.
//
//go:embed dist
var dist embed.FS

// Assets returns the built front end (index.html, assets/…).
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directory is embedded at compile time
	}
	return sub
}
