//go:build tools

// Package tools pins the code generator: generate.sh runs it with go run,
// at the version go.mod requires.
package tools

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
