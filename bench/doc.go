// Package bench holds Accord's load tools; each lives in its own folder.
package bench
