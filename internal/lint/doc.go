// Package lint holds the project's structural rules as ordinary Go tests,
// so `go test ./...` enforces them: the one-way import graph of DESIGN.md
// and the house rules that tools like vet do not check.
package lint
