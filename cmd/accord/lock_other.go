//go:build !unix

package main

// lockDataDir is a no-op where flock is missing: stop Accord before a
// restore by hand.
func lockDataDir(string) (func(), error) { return func() {}, nil }
